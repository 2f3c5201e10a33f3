"""sparsert vs ONNX Runtime (and DeepSparse, where installed) on the same models,
inputs and thread counts.

ORT and sparsert run in this process through the same ORT-style API (`import
sparsert` is a drop-in for `import onnxruntime`), DeepSparse in a child process
that times its own rounds (DeepSparseWorker); rounds alternate between the
runtimes so machine noise (these are shared VMs) hits all alike; each round is
`--iters` timed runs after warmup, and the report uses the median over rounds
of each round's median (p10/p90 over all timed runs). Before any time is
reported the outputs are compared with ORT's: a row whose outputs disagree is
marked MISMATCH and gets no ratio.

  .venv/bin/python perf/compare.py MODEL.onnx [MODEL2.onnx ...] --dim batch=1 --dim sequence=128 --threads 1 2
  .venv/bin/python perf/compare.py --set full     # the benchmark set (tests/models/generate.py --set full)
  .venv/bin/python perf/compare.py --quick        # a 3-model subset, 1 thread, under 5 minutes
  .venv/bin/python perf/compare.py --quick --baseline perf/results/OLD.json   # change per row

Writes perf/results/<date>-<host>.{json,md} and a speedup plot (.png) unless --no-save.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.oracle import oracle  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "perf"))
from timing import timed_runs  # noqa: E402

BERT_DIMS = {"batch": 1, "sequence": 128}
# (file in the models dir, dims): the benchmark set of tests/models/generate.py --set full.
FULL_SET = [("bert_base_op17.onnx", BERT_DIMS),
            ("bert_base_op17_dynamic_int8.onnx", BERT_DIMS),
            ("bert_base_op17_unstructured_70.onnx", BERT_DIMS),
            ("bert_base_op17_unstructured_80.onnx", BERT_DIMS),
            ("bert_base_op17_unstructured_90.onnx", BERT_DIMS),
            ("bert_base_op17_4x1_90.onnx", BERT_DIMS),
            ("bert_base_op17_4x1_70_dynamic_int8.onnx", BERT_DIMS),
            ("bert_base_op17_4x1_80_dynamic_int8.onnx", BERT_DIMS),
            ("bert_base_op17_4x1_90_dynamic_int8.onnx", BERT_DIMS),
            ("bert_base_op17_4x1_90_qdq_int8.onnx", BERT_DIMS),
            ("bert_base_op17_1x4_90_dynamic_int8.onnx", BERT_DIMS),
            ("mobilenet_v2_op17.onnx", {"batch": 1}),
            ("mobilenet_v2_op17_unstructured_90.onnx", {"batch": 1}),
            ("resnet50_op17.onnx", {"batch": 1}),
            ("resnet50_op17_unstructured_90.onnx", {"batch": 1}),
            ("gpt2_block_op17.onnx", BERT_DIMS)]
QUICK_SET = ["bert_base_op17.onnx", "bert_base_op17_4x1_90_dynamic_int8.onnx", "mobilenet_v2_op17.onnx"]


def load_sparsert(build_dir: str):
    sys.path.insert(0, os.path.join(build_dir, "python"))
    import sparsert  # noqa: E402  (built by CMake into build/python)
    return sparsert


def deepsparse_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("deepsparse") is not None  # (imported only in DeepSparseWorker's child)


class Runner:
    """One runtime on one model and thread count: run(feed) -> list of outputs."""

    def __init__(self, name: str, run, output_names: List[str]):
        self.name, self.run, self.output_names = name, run, output_names


def ort_style(module, model: str, threads: int, name: str) -> Runner:
    so = module.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = module.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return Runner(name, lambda feed: sess.run(names, feed), names)


def deepsparse_inputs(model: str, feed: Dict[str, np.ndarray]):
    """DeepSparse takes inputs as a list in the model's order, with a batch size."""
    order = [i.name for i in oracle.make_session(model, 1).get_inputs()]
    batch = feed[order[0]].shape[0] if order and feed[order[0]].ndim else 1
    return order, batch


_DS_WORKER = """
import json, os, shutil, sys, tempfile
import numpy as np
import deepsparse
model, threads, batch, feed_path, out_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
sys.path.insert(0, sys.argv[6])
from timing import timed_runs
with np.load(feed_path) as f:
    inputs = [f[f"arr_{i}"] for i in range(len(f.files))]
with tempfile.TemporaryDirectory() as d:
    # DeepSparse 1.8 writes the static input shapes into the file it is given: a copy.
    copy = os.path.join(d, os.path.basename(model))
    shutil.copyfile(model, copy)
    # Static input shapes: with symbolic dims DeepSparse falls back to its unoptimized runtime.
    engine = deepsparse.compile_model(copy, batch_size=batch, num_cores=threads,
                                      input_shapes=[list(x.shape) for x in inputs])
    np.savez(out_path, *engine.run(inputs))
    print("@@ready", flush=True)
    for line in sys.stdin:
        warmup, iters = map(int, line.split())
        print("@@" + json.dumps(timed_runs(lambda: engine.run(inputs), warmup, iters)), flush=True)
"""
_ds_failed: Dict[str, str] = {}


class DeepSparseWorker:
    """DeepSparse on one model and thread count, in a child process that times its own rounds.

    DeepSparse 1.8 aborts the whole process (a C++ assertion) on some models (dynamic and QDQ
    int8 BERT), which would end the harness: the child compiles once and reports that, where a
    probe compile in a child and then the engine's in this process compiled BERT twice. (An engine
    alive in this process does not slow the others: sparsert 2 threads 11.8-12.1 ms before, beside
    and after one, BERT-base 4x1 90% fp32 on Zen 5.)"""

    def __init__(self, model: str, threads: int, feed: Dict[str, np.ndarray]):
        self.name, self.output_names, self.proc = "deepsparse", [], None
        if model in _ds_failed:
            raise RuntimeError(_ds_failed[model])
        order, batch = deepsparse_inputs(model, feed)
        self.tmp = tempfile.TemporaryDirectory(prefix="sparsert_ds_")
        feed_path, out_path = (os.path.join(self.tmp.name, f) for f in ("feed.npz", "out.npz"))
        np.savez(feed_path, *[feed[n] for n in order])
        self.proc = subprocess.Popen([sys.executable, "-c", _DS_WORKER, model, str(threads), str(batch), feed_path,
                                      out_path, os.path.join(ROOT, "perf")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        said = []
        line = self._reply(said)
        if line != "ready":
            self.close()
            detail = next((ln.strip() for ln in said if "Assertion" in ln or "Error" in ln), "")
            why = f"DeepSparse fails on it (child exit {self.proc.returncode}{': ' + detail if detail else ''})"
            _ds_failed[model] = why  # (the same at any thread count: not compiled again)
            raise RuntimeError(why)
        with np.load(out_path) as f:
            self.outputs = [f[f"arr_{i}"] for i in range(len(f.files))]

    def _reply(self, said: List[str]) -> Optional[str]:
        """The child's next protocol line (its other output, DeepSparse's banner and logs, goes to said)."""
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return line[2:].strip()
            said.append(line)
        self.proc.wait()
        return None

    def round(self, warmup: int, iters: int) -> List[float]:
        try:
            self.proc.stdin.write(f"{warmup} {iters}\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # (it exited: _reply says how)
        said: List[str] = []
        line = self._reply(said)
        if line is None:
            raise RuntimeError(f"DeepSparse's child exited (code {self.proc.returncode}): {''.join(said)[-300:]}")
        return json.loads(line)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.tmp.cleanup()


def timed_round(runner, feed, warmup: int, iters: int) -> List[float]:
    if isinstance(runner, DeepSparseWorker):
        return runner.round(warmup, iters)
    return timed_runs(lambda: runner.run(feed), warmup, iters)


def agreement(got: List[np.ndarray], want: List[np.ndarray]) -> Dict[str, float]:
    """Worst max-abs error relative to output scale, and lowest cosine similarity, over the outputs."""
    rel, cos = 0.0, 1.0
    for g, w in zip(got, want):
        g64, w64 = np.asarray(g, np.float64).ravel(), np.asarray(w, np.float64).ravel()
        if g64.shape != w64.shape:
            return {"rel_error": float("inf"), "cosine": 0.0}
        scale = max(1.0, float(np.max(np.abs(w64)))) if w64.size else 1.0
        rel = max(rel, float(np.max(np.abs(g64 - w64), initial=0.0)) / scale)
        den = float(np.linalg.norm(g64) * np.linalg.norm(w64))
        cos = min(cos, float(np.dot(g64, w64)) / den if den > 0 else 1.0)
    return {"rel_error": rel, "cosine": cos}


def agrees(model: str, a: Dict[str, float]) -> bool:
    # Quantized models: ORT's own int8 kernels round differently (and saturate); compare the function, not bits.
    if "int8" in model or "int4" in model or "qdq" in model:
        return a["cosine"] >= 0.99
    return a["rel_error"] <= 1e-3


def compare_model(model: str, dims: Dict[str, int], threads: int, args, srt, ds) -> Dict:
    feed = oracle.random_inputs(model, dims)
    import onnxruntime
    runners = [ort_style(onnxruntime, model, threads, "ort"), ort_style(srt, model, threads, "sparsert")]
    row = {"model": os.path.basename(model), "dims": dims, "threads": threads}
    want = runners[0].run(feed)
    row.update({f"sparsert_{k}": v for k, v in agreement(runners[1].run(feed), want).items()})
    row["agrees"] = agrees(row["model"], {"rel_error": row["sparsert_rel_error"], "cosine": row["sparsert_cosine"]})
    if args.no_deepsparse:
        row["deepsparse_skipped"] = True
    worker = None
    if ds:
        try:
            worker = DeepSparseWorker(model, threads, feed)
            a = agreement(worker.outputs, want)
            row.update({f"deepsparse_{k}": v for k, v in a.items()})
            runners.append(worker)
        except Exception as e:  # noqa: BLE001  (an engine that cannot compile this model: say so, go on)
            row["deepsparse_error"] = str(e).splitlines()[0][:200]
    medians: Dict[str, List[float]] = {r.name: [] for r in runners}
    every: Dict[str, List[float]] = {r.name: [] for r in runners}
    try:
        for _ in range(args.rounds):
            for r in list(runners):
                try:
                    ts = timed_round(r, feed, args.warmup, args.iters)
                except RuntimeError as e:  # DeepSparse's child died mid-run: its columns say why, the rest go on
                    if r is not worker:
                        raise
                    row["deepsparse_error"] = str(e).splitlines()[0][:200]
                    runners.remove(r)
                    del medians[r.name], every[r.name]
                    continue
                medians[r.name].append(statistics.median(ts))
                every[r.name].extend(ts)
    finally:
        if worker is not None:
            worker.close()
    for name in medians:
        ts = sorted(every[name])
        row[f"{name}_ms"] = statistics.median(medians[name])
        row[f"{name}_p10_ms"] = ts[int(0.1 * (len(ts) - 1))]
        row[f"{name}_p90_ms"] = ts[int(0.9 * (len(ts) - 1))]
        row[f"{name}_per_s"] = 1e3 / row[f"{name}_ms"]
    if row["agrees"]:
        row["sparsert_over_ort"] = row["sparsert_ms"] / row["ort_ms"]
        if "deepsparse_ms" in row:
            row["sparsert_over_deepsparse"] = row["sparsert_ms"] / row["deepsparse_ms"]
    return row


def machine() -> Dict:
    cpu = platform.processor()
    flags = []
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line.split()
    except OSError:
        pass
    isa = "avx512_vnni" if "avx512_vnni" in flags else "avx512" if "avx512f" in flags else \
        "avx2" if "avx2" in flags else "baseline"
    import onnxruntime
    return {"cpu": cpu, "isa": isa, "cores": os.cpu_count(), "host": socket.gethostname(),
            "onnxruntime": onnxruntime.__version__, "python": platform.python_version()}


def ms_text(v: float) -> str:
    return f"{v:.2f} ms" if v < 10 else f"{v:.1f} ms"


def ratio_text(row: Dict, key: str) -> str:
    if not row.get("agrees"):
        return "MISMATCH"
    r = row.get(key)
    if r is None:
        return "-"
    return f"{1 / r:.2f}x faster" if r < 1 else f"{r:.2f}x slower"


def markdown(result: Dict) -> str:
    m = result["machine"]
    when = result["date"] if result.get("first_date", result["date"]) == result["date"] else \
        f"runs of {result['first_date']} to {result['date']} (each row from the last run below that measured it)"
    lines = [f"{when}, {m['cpu']} ({m['isa']}), {m['cores']} cores, ORT {m['onnxruntime']}; "
             f"`perf/compare.py` (median of {result['rounds']} interleaved rounds of {result['iters']} runs)", "",
             "| model | threads | ONNX Runtime | sparsert | sparsert vs ORT | DeepSparse | sparsert vs DeepSparse |",
             "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        ds = ms_text(r["deepsparse_ms"]) if "deepsparse_ms" in r else \
            "fails on this model (why: the JSON)" if "deepsparse_error" in r else \
            "not run (--no-deepsparse)" if r.get("deepsparse_skipped") else "not installed"
        lines.append(f"| {r['model']} | {r['threads']} | {ms_text(r['ort_ms'])} | {ms_text(r['sparsert_ms'])} | "
                     f"{ratio_text(r, 'sparsert_over_ort')} | {ds} | {ratio_text(r, 'sparsert_over_deepsparse')} |")
    return "\n".join(lines) + "\n"


README_BEGIN = "<!-- perf/compare.py --readme: begin (generated; edits here are overwritten) -->"
README_END = "<!-- perf/compare.py --readme: end -->"


def merge_results(results: List[Dict]) -> Dict:
    """Rows of several runs in one result (later runs replace equal (model, threads) rows); the
    machine must be the same, or the table would mix machines."""
    merged = dict(results[0])
    rows = {}
    for r in results:
        if r["machine"].get("cpu") != merged["machine"].get("cpu") or r["machine"].get("isa") != merged["machine"].get("isa"):
            raise ValueError(f"results from different machines: {merged['machine'].get('cpu')} "
                             f"({merged['machine'].get('isa')}) and {r['machine'].get('cpu')} ({r['machine'].get('isa')})")
        for row in r["rows"]:
            rows[(row["model"], row["threads"])] = row
    merged["rows"] = list(rows.values())
    merged["date"] = max(r["date"] for r in results)
    merged["first_date"] = min(r.get("first_date", r["date"]) for r in results)
    merged["commands"] = [c for r in results for c in (r.get("commands") or [r.get("command", "")]) if c]
    return merged


def update_readme(path: str, result: Dict) -> None:
    """Replaces the block between README_BEGIN and README_END with the result's table and the
    commands that produced it."""
    with open(path) as f:
        text = f.read()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f"{path}: no '{README_BEGIN}' ... '{README_END}' block to fill")
    commands = result.get("commands") or [result.get("command", "")]
    block = "\n".join([README_BEGIN, markdown(result), "Produced by:", ""] +
                      [f"    {c}" for c in commands if c] + [""])
    with open(path, "w") as f:
        f.write(text[:begin] + block + text[end:])


def baseline_report(result: Dict, old: Dict) -> str:
    """Per row (model, threads): sparsert's latency and its ratio to ORT, old -> new."""
    before = {(r["model"], r["threads"]): r for r in old.get("rows", [])}
    lines = ["change vs baseline (sparsert ms, sparsert/ORT):"]
    for r in result["rows"]:
        b = before.get((r["model"], r["threads"]))
        if b is None:
            lines.append(f"  {r['model']} threads={r['threads']}: new row")
            continue
        change = r["sparsert_ms"] / b["sparsert_ms"] - 1
        ratio_old, ratio_new = b.get("sparsert_over_ort"), r.get("sparsert_over_ort")
        ratios = f"{ratio_old:.2f} -> {ratio_new:.2f}" if ratio_old and ratio_new else "-"
        lines.append(f"  {r['model']} threads={r['threads']}: {b['sparsert_ms']:.2f} -> {r['sparsert_ms']:.2f} ms "
                     f"({change:+.1%}), sparsert/ORT {ratios}")
    return "\n".join(lines) + "\n"


def plot(result: Dict, path: str) -> Optional[str]:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rows = [r for r in result["rows"] if r.get("sparsert_over_ort")]
    if not rows:
        return None
    labels = [f"{r['model'].replace('.onnx', '')}\n{r['threads']}T" for r in rows]
    speedup = [1 / r["sparsert_over_ort"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows)), 4.5))
    ax.bar(range(len(rows)), speedup, color=["#2a7" if s >= 1 else "#c55" for s in speedup])
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("speedup vs ONNX Runtime (x)")
    ax.set_title(f"sparsert vs ONNX Runtime, {result['machine']['cpu']} ({result['machine']['isa']})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="sparsert vs ONNX Runtime (and DeepSparse) latency")
    p.add_argument("models", nargs="*", help="ONNX models (with --dim for their symbolic dims)")
    p.add_argument("--set", choices=["full"], help="the benchmark set in --models-dir")
    p.add_argument("--quick", action="store_true", help="3 models of the set, 1 thread, 2 rounds: under 5 minutes")
    p.add_argument("--models-dir", default=os.path.join(ROOT, "models", "generated"))
    p.add_argument("--dim", action="append", default=[], help="symbolic dim NAME=VALUE (for the given models)")
    p.add_argument("--threads", type=int, nargs="+", default=None)
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--iters", type=int, default=None)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    p.add_argument("--generate", action="store_true",
                   help="--set/--quick: write the set's models first where missing (tests/models/generate.py --set full)")
    p.add_argument("--spmm-report", nargs="?", const="full", choices=["full", "quick"],
                   help="also run perf/spmm_report.py: the kernels' speedup vs sparsity table and plot (quick: its subset)")
    p.add_argument("--no-deepsparse", action="store_true")
    p.add_argument("--baseline", help="an earlier result JSON: print the change per row")
    p.add_argument("--out-dir", default=os.path.join(ROOT, "perf", "results"))
    p.add_argument("--no-save", action="store_true", help="print only")
    p.add_argument("--json", help="also write the result JSON here")
    p.add_argument("--from-json", nargs="+", metavar="RESULT",
                   help="run nothing: report earlier result JSONs (rows merged; later files win)")
    p.add_argument("--readme", metavar="README",
                   help="write the table into README's generated block (between its perf/compare.py markers)")
    a = p.parse_args(argv)
    if a.from_json:
        results = []
        for path in a.from_json:
            with open(path) as f:
                results.append(json.load(f))
        try:
            result = merge_results(results)
            print(markdown(result))
            if a.readme:
                update_readme(a.readme, result)
                print(f"updated {a.readme}")
        except ValueError as e:
            print(f"compare.py: {e}", file=sys.stderr)
            return 2
        return 0
    a.threads = a.threads or ([1] if a.quick else [1, 2])
    a.rounds = a.rounds or (2 if a.quick else 3)
    a.iters = a.iters or (5 if a.quick else 10)
    dims = {k: int(v) for k, v in (s.split("=", 1) for s in a.dim)}
    jobs = [(m, dims) for m in a.models]
    if a.set or a.quick:
        chosen = [(f, d) for f, d in FULL_SET if not a.quick or f in QUICK_SET]
        missing = [f for f, _ in chosen if not os.path.exists(os.path.join(a.models_dir, f))]
        if missing and a.generate:
            gen = [sys.executable, os.path.join(ROOT, "tests", "models", "generate.py"), "--set", "full", "--out",
                   a.models_dir]
            print("generating the benchmark models: " + " ".join(gen), flush=True)
            if subprocess.run(gen).returncode != 0:
                return 1
            missing = [f for f, _ in chosen if not os.path.exists(os.path.join(a.models_dir, f))]
        if missing:
            print(f"missing in {a.models_dir}: {', '.join(missing)}\n"
                  f"generate them: .venv/bin/python tests/models/generate.py --set full --out {a.models_dir} "
                  f"(or add --generate)", file=sys.stderr)
            return 2
        jobs += [(os.path.join(a.models_dir, f), d) for f, d in chosen]
    if not jobs:
        p.error("give models, --set full or --quick")
    srt = load_sparsert(a.build_dir)
    ds = False if a.no_deepsparse else deepsparse_installed()
    if not ds and not a.no_deepsparse:
        print("DeepSparse: not importable here (pip install deepsparse); its columns stay empty", flush=True)
    rows = []
    for model, d in jobs:
        for threads in a.threads:
            row = compare_model(model, d, threads, a, srt, ds)
            rows.append(row)
            if row["agrees"]:
                ds_text = f"  DeepSparse {row['deepsparse_ms']:8.2f} ms" if "deepsparse_ms" in row else ""
                print(f"{row['model']:42s} threads={threads}  ORT {row['ort_ms']:8.2f} ms  sparsert "
                      f"{row['sparsert_ms']:8.2f} ms{ds_text}  sparsert/ORT {row['sparsert_over_ort']:.2f}x", flush=True)
            else:
                print(f"{row['model']:42s} threads={threads}  MISMATCH vs ORT: rel error "
                      f"{row['sparsert_rel_error']:.3g}, cosine {row['sparsert_cosine']:.5f}", flush=True)
    command = "perf/compare.py " + " ".join(shlex.quote(x) for x in (sys.argv[1:] if argv is None else argv))
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "rounds": a.rounds, "iters": a.iters,
              "command": command, "rows": rows}
    table = markdown(result)
    print("\n" + table)
    if a.baseline:
        with open(a.baseline) as f:
            print(baseline_report(result, json.load(f)))
    paths = []
    if a.json:
        paths.append(a.json)
    if not a.no_save:
        os.makedirs(a.out_dir, exist_ok=True)
        stem = os.path.join(a.out_dir, f"{time.strftime('%Y-%m-%d-%H%M')}-{socket.gethostname()}")
        paths.append(stem + ".json")
        with open(stem + ".md", "w") as f:
            f.write(table)
        png = plot(result, stem + ".png")
        print(f"wrote {stem}.json, {stem}.md" + (f", {png}" if png else ""))
    for path in paths:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)
    if a.readme:
        try:
            update_readme(a.readme, result)
        except ValueError as e:
            print(f"compare.py: {e}", file=sys.stderr)
            return 2
        print(f"updated {a.readme}")
    if a.spmm_report:
        # The kernel-level half of the picture: sparse vs dense per sparsity, its own JSON/markdown/PNG.
        report = [sys.executable, os.path.join(ROOT, "perf", "spmm_report.py"), "--exe",
                  os.path.join(a.build_dir, "perf", "sparsert_microbench"), "--out", a.out_dir] + \
                 (["--quick"] if a.spmm_report == "quick" else [])
        print("kernels: " + " ".join(report), flush=True)
        if subprocess.run(report).returncode != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
