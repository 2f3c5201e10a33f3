"""perf/compare.py, the end-to-end harness: runs ORT and sparsert in one process on
the same inputs, checks the outputs agree before timing, writes JSON / markdown /
plot, and reports the change against a baseline run."""
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "perf"))

import compare  # noqa: E402


def test_agreement_metrics_and_verdicts():
    w = [np.array([1.0, -2.0, 3.0], np.float32)]
    assert compare.agreement(w, w) == {"rel_error": 0.0, "cosine": 1.0}
    off = compare.agreement([w[0] + np.float32(0.003)], w)
    assert abs(off["rel_error"] - 0.001) < 1e-6
    assert not compare.agrees("bert.onnx", off) and compare.agrees("bert.onnx", {"rel_error": 5e-4, "cosine": 1.0})
    # int8 models are compared as functions (cosine), not element by element.
    assert compare.agrees("bert_dynamic_int8.onnx", {"rel_error": 0.05, "cosine": 0.995})
    assert not compare.agrees("bert_qdq_int8.onnx", {"rel_error": 0.05, "cosine": 0.9})
    assert compare.agreement([np.zeros(2)], [np.zeros(3)])["cosine"] == 0.0


def test_runs_models_writes_results_and_compares_with_a_baseline(build_dir, models_dir, tmp_path):
    models = [os.path.join(models_dir, m) for m in ("bert_tiny_op17.onnx", "bert_tiny_op17_4x1_90_dynamic_int8.onnx")]
    cmd = [sys.executable, os.path.join(ROOT, "perf", "compare.py"), *models, "--dim", "batch=1", "--dim",
           "sequence=8", "--threads", "1", "--rounds", "1", "--iters", "2", "--no-deepsparse", "--build-dir",
           build_dir, "--out-dir", str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    results = sorted(p for p in os.listdir(tmp_path) if p.endswith(".json"))
    assert len(results) == 1 and os.path.exists(tmp_path / results[0].replace(".json", ".md"))
    rec = json.loads((tmp_path / results[0]).read_text())
    assert rec["machine"]["isa"] and rec["machine"]["onnxruntime"]
    assert [row["model"] for row in rec["rows"]] == ["bert_tiny_op17.onnx", "bert_tiny_op17_4x1_90_dynamic_int8.onnx"]
    for row in rec["rows"]:
        assert row["agrees"] and row["sparsert_over_ort"] > 0 and row["ort_p10_ms"] <= row["ort_p90_ms"]
    assert "| bert_tiny_op17.onnx | 1 |" in r.stdout
    assert "not run (--no-deepsparse)" in r.stdout  # skipped on request, not "not installed"
    r = subprocess.run(cmd[:-2] + ["--no-save", "--baseline", str(tmp_path / results[0])], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "change vs baseline" in r.stdout and "bert_tiny_op17.onnx threads=1:" in r.stdout
    # One command also makes the kernel-level report (table, JSON, speedup-vs-sparsity plot).
    assert os.path.exists(os.path.join(build_dir, "perf", "sparsert_microbench")), "the build makes the microbench"
    r = subprocess.run(cmd[:3] + ["--rounds", "1", "--iters", "1", "--threads", "1", "--dim", "batch=1", "--dim",
                                  "sequence=4", "--no-deepsparse", "--build-dir", build_dir, "--out-dir",
                                  str(tmp_path / "k"), "--spmm-report", "quick"], capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert os.path.exists(tmp_path / "k" / "spmm_report.json"), os.listdir(tmp_path / "k")


def test_set_full_names_missing_models_and_how_to_make_them(build_dir, tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "perf", "compare.py"), "--quick", "--models-dir",
                        str(tmp_path), "--build-dir", build_dir], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "tests/models/generate.py --set full" in r.stderr


def test_readme_block_is_generated_from_result_jsons(tmp_path):
    def result(cpu, date, rows, command):
        return {"machine": {"cpu": cpu, "isa": "avx2", "cores": 2, "host": "h", "onnxruntime": "1.0"},
                "date": date, "rounds": 3, "iters": 10, "command": command, "rows": rows}

    def row(model, threads, ort, srt):
        return {"model": model, "threads": threads, "ort_ms": ort, "sparsert_ms": srt, "agrees": True,
                "sparsert_over_ort": srt / ort}

    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(result("CPU X", "2026-01-01 10:00", [row("m1.onnx", 1, 100.0, 50.0),
                                                                 row("m2.onnx", 1, 10.0, 20.0)], "perf/compare.py m1 m2")))
    b.write_text(json.dumps(result("CPU X", "2026-01-02 09:00", [row("m1.onnx", 1, 100.0, 25.0)], "perf/compare.py m1")))
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\nbefore\n{compare.README_BEGIN}\nold table\n{compare.README_END}\nafter\n")
    script = os.path.join(ROOT, "perf", "compare.py")
    r = subprocess.run([sys.executable, script, "--from-json", str(a), str(b), "--readme", str(readme)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n") and text.endswith(compare.README_END + "\nafter\n")
    assert "old table" not in text
    assert "| m1.onnx | 1 | 100.0 ms | 25.0 ms | 4.00x faster |" in text  # the later run's row wins
    assert "| m2.onnx | 1 | 10.0 ms | 20.0 ms | 2.00x slower |" in text
    # Rows from two runs: the header says so, with both dates.
    assert "runs of 2026-01-01 10:00 to 2026-01-02 09:00 (each row from the last run below that measured it), " \
           "CPU X (avx2)" in text
    r = subprocess.run([sys.executable, script, "--from-json", str(b)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("2026-01-02 09:00, CPU X (avx2)"), r.stdout
    assert "    perf/compare.py m1 m2\n    perf/compare.py m1\n" in text
    # Rows of two machines are never mixed, and a README without the block is an error.
    c = tmp_path / "c.json"
    c.write_text(json.dumps(result("CPU Y", "2026-01-03 09:00", [], "x")))
    r = subprocess.run([sys.executable, script, "--from-json", str(a), str(c)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "different machines" in r.stderr
    plain = tmp_path / "plain.md"
    plain.write_text("no block\n")
    r = subprocess.run([sys.executable, script, "--from-json", str(a), "--readme", str(plain)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "no '<!-- perf/compare.py --readme: begin" in r.stderr


def test_deepsparse_runs_in_a_child_that_reports_its_rounds_and_its_aborts(build_dir, models_dir, tmp_path,
                                                                                  monkeypatch):
    # A stand-in deepsparse package on the child's path: its engine returns the inputs doubled,
    # and it aborts the process (as 1.8 does on int8 BERT) on a model whose name says so.
    pkg = tmp_path / "fake" / "deepsparse"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        "import os, sys\n"
        "class _Engine:\n"
        "    runs = 0\n"
        "    def __init__(self, dies):\n"
        "        self.dies = dies\n"
        "    def run(self, inputs):\n"
        "        self.runs += 1\n"
        "        if self.dies and self.runs > 3:\n"
        "            os._exit(3)\n"
        "        return [x * 2 for x in inputs]\n"
        "def compile_model(path, batch_size, num_cores, input_shapes):\n"
        "    print('DeepSparse banner', flush=True)\n"
        "    if 'abort' in os.path.basename(path):\n"
        "        print('Assertion at planner.hpp:120', flush=True)\n"
        "        os.abort()\n"
        "    assert num_cores == 2 and batch_size == 1, (num_cores, batch_size)\n"
        "    return _Engine('dies' in os.path.basename(path))\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "fake"))
    model = os.path.join(models_dir, "bert_tiny_op17.onnx")
    feed = compare.oracle.random_inputs(model, {"batch": 1, "sequence": 8})
    worker = compare.DeepSparseWorker(model, 2, feed)
    try:
        order, _ = compare.deepsparse_inputs(model, feed)
        assert len(worker.outputs) == len(order)
        for got, name in zip(worker.outputs, order):
            np.testing.assert_array_equal(got, feed[name] * 2)
        for _ in range(2):  # rounds on request, each iters times
            ts = compare.timed_round(worker, feed, 1, 3)
            assert len(ts) == 3 and all(t >= 0 for t in ts)
    finally:
        worker.close()
    assert worker.proc.poll() is not None
    aborting = tmp_path / "abort.onnx"
    aborting.write_bytes(open(model, "rb").read())
    for _ in range(2):  # the second time from the first's verdict
        try:
            compare.DeepSparseWorker(str(aborting), 2, feed)
            raise AssertionError("an aborting DeepSparse compile must raise")
        except RuntimeError as e:
            assert "DeepSparse fails on it (child exit -6: Assertion at planner.hpp:120)" == str(e), str(e)
    # A child that dies during a round: an error naming its exit, not a hung or crashed harness.
    dying = tmp_path / "dies.onnx"
    dying.write_bytes(open(model, "rb").read())
    worker = compare.DeepSparseWorker(str(dying), 2, feed)
    try:
        assert len(compare.timed_round(worker, feed, 0, 2)) == 2
        try:
            compare.timed_round(worker, feed, 0, 5)
            raise AssertionError("a round whose child exits must raise")
        except RuntimeError as e:
            assert str(e).startswith("DeepSparse's child exited (code 3)"), str(e)
    finally:
        worker.close()
    # The harness goes on without it: ORT and sparsert timed, DeepSparse's column says why.
    r = subprocess.run([sys.executable, os.path.join(ROOT, "perf", "compare.py"), str(dying), "--dim", "batch=1",
                        "--dim", "sequence=8", "--threads", "2", "--rounds", "3", "--iters", "2", "--build-dir",
                        build_dir, "--no-save",
                        "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    row = json.loads((tmp_path / "r.json").read_text())["rows"][0]
    assert row["sparsert_ms"] > 0 and row["ort_ms"] > 0 and "deepsparse_ms" not in row, row
    assert row["deepsparse_error"].startswith("DeepSparse's child exited (code 3)"), row


def test_spmm_report_measures_avx2_kernels_against_avx2_capped_dense():
    import spmm_report
    t = "/M:128/N:768/K:768"
    times = {f"spmm/u8_s8_s32_bspmm_64x4_avx512_vnni{t}/sparsity:90/threads:1/real_time": 30.0,
             f"spmm/u8_s8_s32_bspmm_16x4_avx2{t}/sparsity:90/threads:1/real_time": 90.0,
             f"spmm/f32_spmm_avx2{t}/sparsity:90/threads:1/real_time": 200.0,
             f"dense/u8s8_onednn{t}/threads:1/real_time": 150.0,
             f"dense/f32_onednn{t}/threads:1/real_time": 600.0,
             f"dense/f32_openblas{t}/threads:1/real_time": 700.0}
    counters = {name: {"packed_MiB": 0.1} for name in times}
    capped = spmm_report.dense_times({f"dense/u8s8_onednn{t}/threads:1/real_time": 600.0,
                                      f"dense/f32_onednn{t}/threads:1/real_time": 1200.0,
                                      f"dense/f32_openblas{t}/threads:1/real_time": 1000.0})
    for avx2_dense, want in ((None, {"u8_s8_s32_bspmm_16x4_avx2": ("u8s8_onednn", 150.0),
                                     "f32_spmm_avx2": ("f32_onednn", 600.0)}),
                             (capped, {"u8_s8_s32_bspmm_16x4_avx2": ("u8s8_onednn_avx2", 600.0),
                                       "f32_spmm_avx2": ("f32_openblas_avx2", 1000.0)})):
        rows = {r["kernel"]: r for r in spmm_report.build_rows(times, counters, False, avx2_dense)}
        # The VNNI kernel keeps this machine's fastest dense run either way.
        assert (rows["u8_s8_s32_bspmm_64x4_avx512_vnni"]["dense_impl"],
                rows["u8_s8_s32_bspmm_64x4_avx512_vnni"]["speedup"]) == ("u8s8_onednn", 5.0)
        for kernel, (impl, dense_us) in want.items():
            assert (rows[kernel]["dense_impl"], rows[kernel]["dense_us"]) == (impl, dense_us), rows[kernel]
            assert rows[kernel]["speedup"] == round(dense_us / times[next(n for n in times if kernel in n)], 3)
