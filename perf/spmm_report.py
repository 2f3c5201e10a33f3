"""SpMM kernels vs the fastest dense baseline, from one microbenchmark run.

Runs build/perf/sparsert_microbench (Google Benchmark, random interleaving of
cases so the shared machine's noise hits sparse and dense alike, several
repetitions, median kept) and joins each sparse row with the dense rows of the
same shape and threads measured in that same run:
  fp32 baseline = faster of oneDNN and OpenBLAS sgemm; int8 = oneDNN u8s8.
On a machine with more than AVX2 the AVX2 kernels' baseline is the dense
libraries capped to AVX2 (a second run of the dense cases with
ONEDNN_MAX_CPU_ISA=AVX2, OPENBLAS_CORETYPE=Haswell): what an AVX2-only server
gets from them (dense_impl ends in "_avx2"), not this machine's VNNI or AVX-512.
Small-M rows also report the packed-weight stream rate against the read
bandwidth measured in the same run (the bound there, not a dense library).

  .venv/bin/python perf/spmm_report.py            # full table (~10 min)
  .venv/bin/python perf/spmm_report.py --quick    # a subset, under a minute

Writes perf/results/spmm_report.json (rows of {dtype, pattern, M, N, K,
sparsity, threads, sparse_us, dense_us, speedup, dense_equiv_gops, ...}), a
markdown table next to it and, when matplotlib imports, spmm_speedup.png.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Variant -> (dtype, weight pattern it is measured on); see perf/spmm_bench.cc.
PATTERN = {"f32_spmm": ("f32", "unstructured"), "f32_bspmm_4x1": ("f32", "4x1"),
           "u8_s8_s32_bspmm_16x4": ("int8", "4x1"), "u8_s8_s32_bspmm_64x4": ("int8", "4x1"),
           "u8_s8_s32_bspmm_16x1": ("int8", "1x4"), "u8_s8_s32_bspmm_64x1": ("int8", "1x4"),
           "u8_s8_s32_bspmm_64x1x4": ("int8", "1x4"), "u8_s8_s32_bspmm_16x1x4": ("int8", "1x4"),
           "u8_s8_s32_gemm_6x16": ("int8", "dense")}


def cpu_info():
    model, flags = platform.processor(), ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = line
    except OSError:
        pass
    isa = [f for f in ("avx512_vnni", "avx512f", "avx_vnni", "avx2", "fma", "amx_tile") if f" {f}" in flags]
    return model, isa


# The dense libraries limited to AVX2 (oneDNN reads either name; Debian's OpenBLAS picks its kernels at run time).
AVX2_DENSE_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}


def run_bench(exe, bench_filter, min_time, reps, env=None):
    cmd = [exe, f"--benchmark_filter={bench_filter}", f"--benchmark_min_time={min_time}",
           f"--benchmark_repetitions={reps}", "--benchmark_enable_random_interleaving=true",
           "--benchmark_format=json"]
    print("running:", " ".join(f"{k}={v}" for k, v in (env or {}).items()), " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env=dict(os.environ, **env) if env else None).stdout
    return json.loads(out)


def dense_times(times):
    """{(impl, M, N, K, threads): us} of a run's dense rows."""
    out = {}
    for name, t in times.items():
        kind, impl, f = parse(name)
        if kind == "dense":
            out[(impl, f["M"], f["N"], f["K"], f["threads"])] = t
    return out


def parse(name):
    parts = name.replace("/real_time", "").split("/")
    fields = dict(p.split(":", 1) for p in parts[2:] if ":" in p)
    return parts[0], parts[1], {k: int(v) for k, v in fields.items()}


def collect(report):
    """Median real time (us) per benchmark name, and its counters."""
    times, counters = {}, {}
    for b in report["benchmarks"]:
        if b.get("run_type") != "iteration" or b.get("error_occurred"):
            continue
        name = b.get("run_name", b["name"])
        times.setdefault(name, []).append(b["real_time"])
        counters[name] = b
    return {k: statistics.median(v) for k, v in times.items()}, counters


def build_rows(times, counters, all_variants, avx2_dense=None):
    """avx2_dense: dense_times() of the AVX2-capped run, the AVX2 kernels' baseline where given."""
    dense, bandwidth = dense_times(times), {}
    for name, t in times.items():
        kind, impl, f = parse(name)
        if kind == "bandwidth":
            bandwidth[f["threads"]] = counters[name].get("read_GB/s", 0.0) / 1e9 if counters[name].get(
                "read_GB/s", 0) > 1e6 else counters[name].get("read_GB/s", 0.0)
    rows = []
    for name, t in sorted(times.items()):
        kind, variant, f = parse(name)
        if kind != "spmm":
            continue
        isa = next(i for i in ("avx512_vnni", "avx512", "avx2", "generic") if variant.endswith("_" + i))
        base = variant[:-len(isa) - 1]
        if isa == "generic" and not all_variants:
            continue
        dtype, pattern = PATTERN.get(base, ("?", "?"))
        key = (f["M"], f["N"], f["K"], f["threads"])
        impls = ("f32_onednn", "f32_openblas") if dtype == "f32" else ("u8s8_onednn",)
        if isa == "avx2" and avx2_dense:
            cands = {impl + "_avx2": avx2_dense.get((impl,) + key) for impl in impls}
        else:
            cands = {impl: dense.get((impl,) + key) for impl in impls}
        cands = {k: v for k, v in cands.items() if v}
        if not cands:
            continue
        dense_impl = min(cands, key=cands.get)
        dense_us = cands[dense_impl]
        packed_mib = counters[name].get("packed_MiB", 0.0)
        gbps = packed_mib * (1 << 20) / (t * 1e-6) / 1e9
        bw = bandwidth.get(f["threads"])
        rows.append({
            "kernel": variant, "isa": isa, "dtype": dtype, "pattern": pattern, "M": f["M"], "N": f["N"],
            "K": f["K"], "sparsity": f["sparsity"] / 100.0, "threads": f["threads"],
            "sparse_us": round(t, 2), "dense_us": round(dense_us, 2), "dense_impl": dense_impl,
            "speedup": round(dense_us / t, 3),
            "dense_equiv_gops": round(2.0 * f["M"] * f["N"] * f["K"] / (t * 1e3), 2),
            "weight_stream_GBps": round(gbps, 2),
            "read_bandwidth_GBps": round(bw, 2) if bw else None,
            "bandwidth_fraction": round(gbps / bw, 3) if bw else None,
        })
    rows.sort(key=lambda r: (r["kernel"], -r["M"], r["N"], r["K"], r["sparsity"], r["threads"]))
    return rows


def table(rows):
    lines = ["| kernel | pattern | M | N | K | sparsity | threads | sparse us | dense us (impl) | speedup | GB/s of read bw |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        # The read-bandwidth bound only matters where the kernel streams weights: small M.
        bw = (f"{r['weight_stream_GBps']:.1f} / {r['read_bandwidth_GBps']:.1f}"
              if r["read_bandwidth_GBps"] and r["M"] <= 8 else "")
        lines.append(f"| {r['kernel']} | {r['pattern']} | {r['M']} | {r['N']} | {r['K']} | {int(r['sparsity'] * 100)}% "
                     f"| {r['threads']} | {r['sparse_us']:.0f} | {r['dense_us']:.0f} ({r['dense_impl']}) "
                     f"| {r['speedup']:.2f}x | {bw} |")
    return "\n".join(lines)


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not importable: no plot", file=sys.stderr)
        return None
    fig, ax = plt.subplots(figsize=(8, 5))
    series = {}
    for r in rows:
        if r["M"] != 128:
            continue
        series.setdefault((r["kernel"], r["N"], r["K"], r["threads"]), []).append((r["sparsity"], r["speedup"]))
    for (kernel, n, k, threads), pts in sorted(series.items()):
        pts.sort()
        ax.plot([p[0] * 100 for p in pts], [p[1] for p in pts], marker="o",
                label=f"{kernel} {n}x{k} t{threads}")
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xlabel("sparsity (%)")
    ax.set_ylabel("speedup over fastest dense (same run)")
    ax.set_title("sparsert SpMM, M=128 (BERT-base shapes)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exe", default=os.path.join(ROOT, "build", "perf", "sparsert_microbench"))
    ap.add_argument("--quick", action="store_true", help="one BERT shape and one decode shape, threads 1")
    ap.add_argument("--all-variants", action="store_true", help="also the plain C++ (generic) kernels")
    ap.add_argument("--repetitions", type=int, default=None)
    ap.add_argument("--out", default=os.path.join(ROOT, "perf", "results"))
    args = ap.parse_args()

    if args.quick:
        flt = ("((spmm/[^/]*_avx[^/]*|dense/[^/]*)/M:128/N:768/K:768/(sparsity:(70|90)/)?threads:1)"
               "|((spmm/[^/]*_avx[^/]*|dense/[^/]*)/M:1/N:4096/K:4096/(sparsity:90/)?threads:1)|bandwidth/.*threads:1")
        min_time, reps = 0.05, args.repetitions or 3
    else:
        flt = "spmm/|dense/|bandwidth/" if args.all_variants else "spmm/[^/]*_avx|dense/|bandwidth/"
        min_time, reps = 0.1, args.repetitions or 3
    report = run_bench(args.exe, flt, min_time, reps)
    times, counters = collect(report)
    model, isa = cpu_info()
    avx2_dense = None
    if any(f.startswith("avx512") for f in isa):
        dense_flt = "dense/[^/]*/M:(128/N:768/K:768|1/N:4096/K:4096)/threads:1" if args.quick else "dense/"
        avx2_dense = dense_times(collect(run_bench(args.exe, dense_flt, min_time, reps, AVX2_DENSE_ENV))[0])
    rows = build_rows(times, counters, args.all_variants, avx2_dense)
    os.makedirs(args.out, exist_ok=True)
    result = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
        "cpu": model, "isa_flags": isa, "cpus": os.cpu_count(), "quick": args.quick,
        "context": report.get("context", {}), "rows": rows,
    }
    path = os.path.join(args.out, "spmm_report.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    md = table(rows)
    with open(os.path.join(args.out, "spmm_report.md"), "w") as f:
        f.write(f"SpMM vs dense, {model} ({', '.join(isa)}), {result['date']}\n\n{md}\n")
    print(md)
    png = plot(rows, os.path.join(args.out, "spmm_speedup.png"))
    print(f"\nwrote {path}" + (f" and {png}" if png else ""))


if __name__ == "__main__":
    main()
