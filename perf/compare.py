"""sparsert vs ONNX Runtime latency on the same model, inputs shape and threads.

Rounds alternate between the two runtimes so machine noise (these are shared
VMs) hits both alike; each round is `--iters` timed runs after warmup, and the
report uses the median over rounds of each round's median. sparsert runs as
the real binary (`build/sparse_run`), ORT in this process.

  .venv/bin/python perf/compare.py MODEL.onnx --dim batch=1 --dim sequence=128 --threads 1 2

This is the first piece of the issue-8 harness (no DeepSparse, no plots yet;
output agreement is checked by the test suite, not here).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.oracle import oracle  # noqa: E402


def ort_round(sess, inputs, warmup, iters):
    for _ in range(warmup):
        sess.run(None, inputs)
    ts = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, inputs)
        ts.append((time.perf_counter() - t) * 1e3)
    return statistics.median(ts)


def sparsert_round(exe, model, dims, threads, warmup, iters):
    cmd = [exe, model, "--threads", str(threads), "--iters", str(iters), "--warmup", str(warmup)]
    for k, v in dims.items():
        cmd += ["--dim", f"{k}={v}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"latency\s+median ([0-9.]+) ms", out)
    kernels = re.search(r"kernels\s+(.*)", out)
    return float(m.group(1)), kernels.group(1) if kernels else ""


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def isa_flags():
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2" if "avx2" in flags else "sse"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="sparsert vs ONNX Runtime latency")
    p.add_argument("model")
    p.add_argument("--dim", action="append", default=[], help="symbolic dim NAME=VALUE")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--sparse-run", default=os.path.join(ROOT, "build", "sparse_run"))
    p.add_argument("--json", help="write results here")
    a = p.parse_args(argv)
    dims = {k: int(v) for k, v in (s.split("=", 1) for s in a.dim)}
    inputs = oracle.random_inputs(a.model, dims)
    rows = []
    for threads in a.threads:
        sess = oracle.make_session(a.model, threads)
        ort_ms, srt_ms, kernels = [], [], ""
        for _ in range(a.rounds):
            ort_ms.append(ort_round(sess, inputs, a.warmup, a.iters))
            ms, kernels = sparsert_round(a.sparse_run, a.model, dims, threads, a.warmup, a.iters)
            srt_ms.append(ms)
        row = {"model": os.path.basename(a.model), "threads": threads, "ort_ms": statistics.median(ort_ms),
               "sparsert_ms": statistics.median(srt_ms), "kernels": kernels}
        row["sparsert_over_ort"] = row["sparsert_ms"] / row["ort_ms"]
        rows.append(row)
        print(f"{row['model']:30s} threads={threads}  ORT {row['ort_ms']:8.2f} ms  sparsert {row['sparsert_ms']:8.2f} ms"
              f"  sparsert/ORT {row['sparsert_over_ort']:.2f}x   [{kernels}]", flush=True)
    result = {"machine": {"cpu": cpu_model(), "isa": isa_flags(), "cores": os.cpu_count()},
              "date": time.strftime("%Y-%m-%d %H:%M"), "dims": dims, "rows": rows}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
