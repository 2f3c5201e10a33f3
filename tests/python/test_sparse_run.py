"""The sparse_run binary: the README's demo, running a model, and its exit codes."""
import os
import re
import subprocess

import pytest


@pytest.fixture(scope="module")
def sparse_run(build_dir):
    exe = os.path.join(build_dir, "sparse_run")
    if not os.path.exists(exe):
        pytest.fail(f"{exe} not built")
    return exe


def _run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)


def test_no_arguments_runs_the_demo_and_says_what_ran(sparse_run, models_dir):
    r = _run(sparse_run, env={**os.environ, "SPARSERT_DEMO_DIR": os.path.join(models_dir, "demo")})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "== dense model ==" in out and "90% 4x1-block-pruned model" in out
    assert out.count("output   last_hidden_state: float[1,64,128]") == 2
    assert "speedup  sparse model vs dense model:" in out
    assert out.count("kernels  ") == 2 and "onednn_linear_f32" in out  # the kernel mix of each model
    # The pruned model's linear layers run on the sparse kernels, the dense model's on oneDNN.
    dense_part, sparse_part = out.split("90% 4x1-block-pruned model", 1)
    assert "sparse_linear_f32" not in dense_part and "sparse_linear_f32" in sparse_part.split("speedup", 1)[0]
    assert "JIT SpMM kernels" in out


def test_runs_a_model_with_symbolic_dims(sparse_run, models_dir):
    r = _run(sparse_run, os.path.join(models_dir, "bert_tiny_op13.onnx"), "--dim", "batch=3", "--dim", "sequence=10",
             "--iters", "2", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "input    input_ids: int64[3,10]" in r.stdout
    assert "output   pooler_output: float[3,128]" in r.stdout
    assert "latency  median" in r.stdout


def test_profile_and_dump_graph(sparse_run, models_dir, tmp_path):
    trace = tmp_path / "trace.json"
    r = _run(sparse_run, os.path.join(models_dir, "ops", "shape_chain.onnx"), "--profile", str(trace), "--dump-graph",
             "--iters", "1")
    assert r.returncode == 0, r.stderr
    assert "Reshape(" in r.stdout
    import json
    events = json.loads(trace.read_text())
    assert events and all(e["ph"] == "X" for e in events)


def test_missing_model_is_a_runtime_error(sparse_run, tmp_path):
    r = _run(sparse_run, str(tmp_path / "nope.onnx"))
    assert r.returncode == 1
    assert "nope.onnx' does not exist" in r.stderr


def test_usage_errors_exit_2(sparse_run, models_dir):
    assert _run(sparse_run, "--no-such-flag").returncode == 2
    r = _run(sparse_run, os.path.join(models_dir, "bert_tiny_op13.onnx"), "--dim", "batch")
    assert r.returncode == 2 and "NAME=VALUE" in r.stderr
    r = _run(sparse_run, os.path.join(models_dir, "bert_tiny_op13.onnx"), "--isa", "sse9")
    assert r.returncode == 2 and "unknown ISA 'sse9'" in r.stderr


def test_version(sparse_run):
    r = _run(sparse_run, "--version")
    assert r.returncode == 0 and r.stdout.startswith("sparse_run 0.1.0")


def test_readme_lists_exactly_the_supported_ops(sparse_run):
    import re
    ops = _run(sparse_run, "--list-ops").stdout.split()
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    section = readme.split("## Supported ops", 1)[1].split("\n## ", 1)[0]
    onnx_part = section.split("ai.onnx:", 1)[1].split("(plus", 1)[0]
    ms_part = section.split("com.microsoft:", 1)[1].split("(", 1)[0]
    listed = onnx_part.split() + ["com.microsoft." + op for op in ms_part.split()]
    assert sorted(listed) == sorted(ops)
    assert f"Reference kernels for {len(ops)} op types" in readme


@pytest.mark.parametrize("model", ["bert_tiny_op17.onnx", "bert_tiny_op17_qdq_int8.onnx", "convnet_tiny_op17.onnx"])
def test_check_compares_with_the_reference_plan(sparse_run, models_dir, model):
    for args in (["check", os.path.join(models_dir, model)], [os.path.join(models_dir, model), "--check-accuracy"]):
        r = _run(sparse_run, *args, "--dim", "sequence=8", "--iters", "1")
        assert r.returncode == 0, r.stderr
        lines = [line for line in r.stdout.splitlines() if line.startswith("check    ")]
        assert any("cosine similarity" in line for line in lines), r.stdout
        worst = float(lines[-1].split("worst relative error ")[1].split()[0])
        assert worst <= 1e-4, r.stdout  # the oracle's tolerance for these models


def _bert_feed(seed, seq):
    """input_ids and an attention mask with padding in the last row, batch 2."""
    import numpy as np

    ids = np.random.default_rng(seed).integers(0, 50, (2, seq)).astype(np.int64)
    mask = np.ones((2, seq), np.int64)
    mask[1, seq - 2:] = 0
    return ids, mask


def test_inputs_from_npy_files_and_outputs_saved_as_npy(sparse_run, models_dir, tmp_path):
    import numpy as np
    from tests.oracle import oracle

    model = os.path.join(models_dir, "bert_tiny_op17.onnx")
    ids, mask = _bert_feed(7, 6)
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "mask.npy", np.asfortranarray(mask).copy(order="C"))
    out_dir = tmp_path / "out"
    r = _run(sparse_run, model, "--input", f"input_ids={tmp_path / 'ids.npy'}", "--input",
             f"attention_mask={tmp_path / 'mask.npy'}", "--output", str(out_dir), "--iters", "1")
    assert r.returncode == 0, r.stderr
    assert "input    input_ids: int64[2,6] (from file)" in r.stdout
    want = oracle.run(model, {"input_ids": ids, "attention_mask": mask})
    for name, w in want.items():
        got = np.load(out_dir / f"{name}.npy")
        assert got.dtype == w.dtype and got.shape == w.shape
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-4)


def test_inputs_from_npz_archives_and_directories(sparse_run, models_dir, tmp_path):
    import numpy as np
    from tests.oracle import oracle

    model = os.path.join(models_dir, "bert_tiny_op17.onnx")
    ids, mask = _bert_feed(8, 5)
    want = oracle.run(model, {"input_ids": ids, "attention_mask": mask})
    np.savez(tmp_path / "stored.npz", input_ids=ids, attention_mask=mask)
    np.savez_compressed(tmp_path / "deflated.npz", input_ids=ids, attention_mask=mask)
    (tmp_path / "dir").mkdir()
    np.save(tmp_path / "dir" / "input_ids.npy", ids)
    np.save(tmp_path / "dir" / "attention_mask.npy", mask)
    for source in ("stored.npz", "deflated.npz", "dir"):
        out = tmp_path / f"out_{source}"
        r = _run(sparse_run, model, "--input", str(tmp_path / source), "--output", str(out), "--iters", "1")
        assert r.returncode == 0, r.stderr
        assert "input    attention_mask: int64[2,5] (from file)" in r.stdout, r.stdout
        for name, w in want.items():
            np.testing.assert_allclose(np.load(out / f"{name}.npy"), w, rtol=1e-4, atol=1e-4)
    # An array the model has no input for, a directory without any, a file that is not a zip.
    np.savez(tmp_path / "typo.npz", input_idz=ids)
    r = _run(sparse_run, model, "--input", str(tmp_path / "typo.npz"), "--iters", "1")
    assert r.returncode == 1 and "the model has no input 'input_idz'" in r.stderr, r.stderr
    (tmp_path / "empty").mkdir()
    r = _run(sparse_run, model, "--input", str(tmp_path / "empty"), "--iters", "1")
    assert r.returncode == 1 and "no NAME.npy file there" in r.stderr, r.stderr
    (tmp_path / "junk.npz").write_bytes(b"PK junk")
    r = _run(sparse_run, model, "--input", str(tmp_path / "junk.npz"), "--iters", "1")
    assert r.returncode == 1 and "is not an .npz file" in r.stderr, r.stderr
    data = (tmp_path / "deflated.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    r = _run(sparse_run, model, "--input", str(tmp_path / "cut.npz"), "--iters", "1")
    assert r.returncode == 1 and "cut.npz" in r.stderr, r.stderr
    # Corrupt headers are errors, not crashes or huge allocations: an extra field past the
    # file, a size no deflate stream can reach.
    import struct
    bad = bytearray(data)
    struct.pack_into("<H", bad, 28, 60000)
    (tmp_path / "extra.npz").write_bytes(bytes(bad))
    r = _run(sparse_run, model, "--input", str(tmp_path / "extra.npz"), "--iters", "1")
    assert r.returncode == 1 and "extra.npz" in r.stderr, r.stderr
    bad = bytearray(data)
    struct.pack_into("<I", bad, 22, 0xFFFFFFF0)  # uncompressed size of the first member
    (tmp_path / "huge.npz").write_bytes(bytes(bad))
    r = _run(sparse_run, model, "--input", str(tmp_path / "huge.npz"), "--iters", "1")
    assert r.returncode == 1 and "compressed" in r.stderr, r.stderr


def test_bad_npy_inputs_are_clear_errors(sparse_run, models_dir, tmp_path):
    import numpy as np

    model = os.path.join(models_dir, "bert_tiny_op17.onnx")
    np.save(tmp_path / "ids.npy", np.ones((1, 3), np.int64))
    r = _run(sparse_run, model, "--input", f"nope={tmp_path / 'ids.npy'}", "--iters", "1")
    assert r.returncode == 1 and "the model has no input 'nope'" in r.stderr, r.stderr
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((2, 3), np.int64)))
    r = _run(sparse_run, model, "--input", f"input_ids={tmp_path / 'f.npy'}", "--iters", "1")
    assert r.returncode == 1 and "Fortran-order" in r.stderr
    (tmp_path / "junk.npy").write_bytes(b"hello")
    r = _run(sparse_run, model, "--input", f"input_ids={tmp_path / 'junk.npy'}", "--iters", "1")
    assert r.returncode == 1 and "is not a .npy file" in r.stderr
    np.save(tmp_path / "wrong.npy", np.ones((1, 3), np.float32))
    r = _run(sparse_run, model, "--input", f"input_ids={tmp_path / 'wrong.npy'}", "--iters", "1")
    assert r.returncode == 1 and "input_ids" in r.stderr and "float" in r.stderr


def test_bench_reports_percentiles_throughput_and_json(sparse_run, models_dir, tmp_path):
    import json

    model = os.path.join(models_dir, "bert_tiny_op17.onnx")
    out = tmp_path / "bench.json"
    r = _run(sparse_run, "bench", model, "--dim", "sequence=8", "--iters", "5", "--threads", "1", "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "p99" in r.stdout and "(5 runs, 1 stream(s)" in r.stdout and "throughput" in r.stdout
    rec = json.loads(out.read_text())
    assert rec["runs"] == 5 and rec["streams"] == 1 and rec["threads"] == 1 and rec["dims"] == "sequence=8"
    lat = rec["latency_ms"]
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert rec["throughput_per_s"] > 0 and rec["isa"] and rec["cpu"]
    # Concurrent requests for a duration: every stream runs at least once.
    r = _run(sparse_run, "bench", model, "--dim", "sequence=8", "--time", "0.3", "--streams", "2", "--threads", "1",
             "--json", str(out))
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text())
    assert rec["streams"] == 2 and rec["runs"] >= 2 and rec["wall_s"] >= 0.3
    assert "%" not in r.stderr  # no progress bar when stderr is not a terminal


def test_batch_sets_every_inputs_symbolic_first_dim(sparse_run, models_dir):
    model = os.path.join(models_dir, "bert_tiny_op17.onnx")
    r = _run(sparse_run, model, "--batch", "3", "--dim", "sequence=5", "--iters", "1")
    assert r.returncode == 0, r.stderr
    assert "input    input_ids: int64[3,5]" in r.stdout and "input    attention_mask: int64[3,5]" in r.stdout, r.stdout
    r = _run(sparse_run, model, "--batch", "-2")
    assert r.returncode == 2 and "--batch" in r.stderr


def test_bench_draws_a_progress_bar_on_a_terminal(sparse_run, models_dir):
    import pty

    model = os.path.join(models_dir, "bert_tiny_op17.onnx")
    master, slave = pty.openpty()
    try:
        r = subprocess.run([sparse_run, "bench", model, "--dim", "sequence=8", "--iters", "20", "--threads", "1"],
                           stdout=subprocess.PIPE, stderr=slave, timeout=300)
        os.close(slave)
        slave = -1
        tty = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the writer side is closed and drained
                break
            if not chunk:
                break
            tty += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert r.returncode == 0
    bars = [line for line in tty.decode().split("\r") if line.startswith("[")]
    assert bars and bars[-1].rstrip().endswith("100%") and "#" * 30 in bars[-1], tty[-300:]
    assert "(20 runs, 1 stream(s)" in r.stdout.decode()


def test_check_per_node_compares_every_value_both_plans_compute(sparse_run, models_dir):
    r = _run(sparse_run, "check", os.path.join(models_dir, "bert_tiny_op17_4x1_90.onnx"), "--per-node", "--dim",
             "sequence=8")
    assert r.returncode == 0, r.stderr
    head = next(line for line in r.stdout.splitlines() if "values compared" in line)
    import re
    compared, fast, ref = [int(w) for w in re.findall(r"\d+", head)]
    assert 0 < compared <= fast < ref, head  # the fused plan computes fewer values than the reference
    rows = [line for line in r.stdout.splitlines() if line.startswith("per-node ") and "relative" in line]
    assert len(rows) == 10 and any("last_hidden_state" in row for row in r.stdout.splitlines()), r.stdout
    assert all(float(row.split("relative")[1].split()[0]) < 1e-3 for row in rows), rows
    assert "first value over 1e-3" not in r.stdout


def test_quantize_dynamic_int8_runs_pruned_fp32_linears_on_int8_kernels(sparse_run, models_dir):
    model = os.path.join(models_dir, "bert_tiny_op17_4x1_90.onnx")
    r = _run(sparse_run, "check", model, "--quantize", "dynamic-int8", "--dim", "sequence=16")
    assert r.returncode == 0, r.stderr
    assert "sparse_integer_linear_u8s8 x12" in r.stdout, r.stdout  # 2 layers x 6 linears (the pooler is a Gemm)
    line = next(x for x in r.stdout.splitlines() if x.startswith("check    last_hidden_state"))
    assert float(line.split("cosine similarity")[1]) >= 0.999, line  # vs the fp32 reference plan
    r = _run(sparse_run, model, "--quantize", "int4")
    assert r.returncode == 1 and "quantize must be none or dynamic-int8, got 'int4'" in r.stderr, r.stderr


def test_inspect_lists_layers_weights_kernels_and_why(sparse_run, models_dir):
    r = _run(sparse_run, "inspect", os.path.join(models_dir, "bert_tiny_op17_4x1_90_dynamic_int8.onnx"))
    assert r.returncode == 0, r.stderr
    rows = [line for line in r.stdout.splitlines() if "IntegerLinear" in line]
    assert len(rows) == 13, r.stdout  # 2 layers x 6 linears, and the pooler
    for row in rows:
        # 4-row bands: 16-row int16 tiles, or 64-row u8 quads with AVX512_VNNI.
        assert "int8[" in row and re.search(r"sparse_integer_linear_u8s8 \[u8_s8_s32_bspmm_(16|64)x4_", row), row
        zeros = float(row.split("%")[0].split()[-1])
        assert 85.0 <= zeros <= 95.0, row  # pruned to 90%
    assert "weights  " in r.stdout and "more nodes on reference kernels" in r.stdout
    assert "MiB packed for the sparse kernels of 13 layer(s)" in r.stdout, r.stdout
    assert "SpMM kernel(s) generated in this process" in r.stdout, r.stdout
    # The generated kernel each layer runs and why: 4-row bands for 4x1-pruned
    # fp32, 1-row bands for unstructured fp32.
    r = _run(sparse_run, "inspect", os.path.join(models_dir, "bert_tiny_op17_4x1_90.onnx"), "--explain")
    assert r.returncode == 0, r.stderr
    assert "sparse_linear_f32 [f32_bspmm_" in r.stdout and "4-row bands (4x1 blocks)" in r.stdout, r.stdout
    r = _run(sparse_run, "inspect", os.path.join(models_dir, "bert_tiny_op17_unstructured_90.onnx"), "--explain")
    assert r.returncode == 0, r.stderr
    assert "sparse_linear_f32 [f32_spmm_" in r.stdout and "; 1-row bands" in r.stdout, r.stdout
    r = _run(sparse_run, "inspect", os.path.join(models_dir, "bert_tiny_op17.onnx"), "--explain")
    assert r.returncode == 0, r.stderr
    assert "declined sparse_linear_f32: dense is faster: sparsity 0.000" in r.stdout
    r = _run(sparse_run, "inspect")
    assert r.returncode == 2 and "inspect needs a MODEL" in r.stderr


def test_inspect_with_profile_adds_each_nodes_share_of_the_time(sparse_run, models_dir, tmp_path):
    import json

    trace = tmp_path / "t.json"
    r = _run(sparse_run, "inspect", os.path.join(models_dir, "bert_tiny_op17_4x1_90.onnx"), "--profile", str(trace),
             "--dim", "sequence=16", "--iters", "3")
    assert r.returncode == 0, r.stderr
    assert "profile  2 warmup + 3 timed runs (time: each node's median over the runs" in r.stdout
    rows = [line for line in r.stdout.splitlines() if "sparse_linear_f32" in line]
    assert len(rows) == 13, r.stdout
    shares = [float(row.split("%")[2].split()[-1]) for row in rows]  # zeros%, 0-4x1%, time%
    assert all(0.0 <= s <= 100.0 for s in shares) and sum(shares) > 1.0, shares
    rest = float(r.stdout.split("time     ")[1].split("%")[0])
    assert 0.0 <= rest < 100.0
    events = json.loads(trace.read_text())
    assert len(events) == 5 * len({e["name"] for e in events})  # every node, every run


@pytest.mark.parametrize("pattern", ["unstructured", "4x1", "1x4"])
def test_prune_matches_the_python_pruner_and_runs_sparse(sparse_run, models_dir, tmp_path, pattern):
    import numpy as np
    import onnx
    from onnx import numpy_helper

    from tests.models import prune

    for model in ["bert_tiny_op17.onnx", "convnet_tiny_op17.onnx"]:
        src = os.path.join(models_dir, model)
        out = tmp_path / f"cpp_{pattern}_{model}"
        r = _run(sparse_run, "prune", src, "-o", str(out), "--sparsity", "0.8", "--pattern", pattern)
        assert r.returncode == 0, r.stderr
        assert "pruned " in r.stdout and " sparsity 0." in r.stdout
        want = onnx.load(src)
        prune.prune_model(want, 0.8, pattern)
        got = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(out)).graph.initializer}
        for t in want.graph.initializer:
            np.testing.assert_array_equal(got[t.name], numpy_helper.to_array(t), err_msg=f"{model} {t.name}")
    r = _run(sparse_run, "inspect", str(tmp_path / f"cpp_{pattern}_bert_tiny_op17.onnx"))
    assert r.returncode == 0 and "sparse_linear_f32" in r.stdout, r.stdout


def test_prune_usage_errors(sparse_run, models_dir, tmp_path):
    src = os.path.join(models_dir, "bert_tiny_op17.onnx")
    r = _run(sparse_run, "prune", src, "-o", str(tmp_path / "x.onnx"), "--sparsity", "1.5")
    assert r.returncode == 1 and "--sparsity must be in [0, 1)" in r.stderr
    r = _run(sparse_run, "prune", src, "-o", str(tmp_path / "x.onnx"), "--sparsity", "0.5", "--pattern", "2x2")
    assert r.returncode == 2
    r = _run(sparse_run, "prune", str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "x.onnx"), "--sparsity", "0.5")
    assert r.returncode == 1 and "cannot open model file" in r.stderr
