"""`import sparsert` as a drop-in for `import onnxruntime`: the same ORT-style
script runs unchanged on both, reports the same inputs/outputs, and sparsert's
outputs match the ORT oracle's stored cases within each model's tolerance.
Errors raise sparsert's exception classes with the runtime's message."""
import os
import sys

import numpy as np
import onnxruntime
import pytest

from tests.oracle import oracle


@pytest.fixture(scope="module")
def sparsert(build_dir):
    sys.path.insert(0, os.path.join(build_dir, "python"))
    try:
        import sparsert as module
    except ImportError as e:
        pytest.fail(f"sparsert is not built in {build_dir}/python: {e}")
    return module


def manifest(models_dir):
    with open(os.path.join(models_dir, "manifest.txt")) as f:
        rows = [line.split() for line in f if line.strip()]
    return [(m, c, float(t)) for m, c, t in rows]


def ort_style_run(ort, path, feed):
    """A script written for ONNX Runtime, unchanged for sparsert."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inputs = [(i.name, i.type, i.shape) for i in sess.get_inputs()]
    outputs = [(o.name, o.type, o.shape) for o in sess.get_outputs()]
    names = [o.name for o in sess.get_outputs()]
    return inputs, outputs, dict(zip(names, sess.run(names, feed)))


def close(got, want, tol):
    if want.dtype.kind in "iub":
        return np.array_equal(got, want)
    scale = max(1.0, float(np.max(np.abs(want))) if want.size else 1.0)
    return got.shape == want.shape and float(np.max(np.abs(got.astype(np.float64) - want), initial=0.0)) <= tol * scale


MODELS = ["bert_tiny_op17.onnx", "bert_tiny_op13.onnx", "convnet_tiny_op17.onnx", "gpt2_tiny_op17.onnx",
          "bert_tiny_op17_unstructured_90.onnx", "bert_tiny_op17_qdq_int8.onnx", "bert_tiny_op17_dynamic_int8.onnx",
          "bert_tiny_op17_int4_nbits.onnx"]


@pytest.mark.parametrize("model", MODELS)
def test_ort_script_runs_unchanged_and_matches_the_oracle(sparsert, models_dir, model):
    rows = {m: (c, t) for m, c, t in manifest(models_dir)}
    assert model in rows, f"{model} is not in the generated default set"
    case, tol = rows[model]
    path = os.path.join(models_dir, model)
    feed, want = oracle.load_case(os.path.join(models_dir, case))
    s_in, s_out, got = ort_style_run(sparsert, path, feed)
    o_in, o_out, ort_got = ort_style_run(onnxruntime, path, feed)
    assert s_in == o_in and [n for n, _, _ in s_out] == [n for n, _, _ in o_out]
    assert [t for _, t, _ in s_out] == [t for _, t, _ in o_out]
    for name, w in want.items():
        assert close(got[name], w, tol), f"{model} output {name}: max abs diff {np.max(np.abs(got[name] - w))}"
    if "int" not in model:  # float models: ORT optimized computes the same function
        for name, w in ort_got.items():
            assert close(got[name], w, tol), name


def test_errors_raise_typed_exceptions_with_the_runtime_message(sparsert, models_dir):
    path = os.path.join(models_dir, "bert_tiny_op17.onnx")
    sess = sparsert.InferenceSession(path)
    ids = np.ones((1, 5), np.int64)
    with pytest.raises(sparsert.InvalidArgument, match="unknown input 'nope'"):
        sess.run(None, {"nope": ids})
    with pytest.raises(sparsert.InvalidArgument, match="input_ids"):
        sess.run(None, {"input_ids": ids.astype(np.float32), "attention_mask": ids})
    with pytest.raises(sparsert.NotFound, match="does not exist"):
        sparsert.InferenceSession(os.path.join(models_dir, "no_such_model.onnx"))
    with pytest.raises(sparsert.Error):
        sparsert.InferenceSession(b"not a model")
    assert issubclass(sparsert.InvalidArgument, RuntimeError)


def test_inputs_may_be_non_contiguous_and_outputs_are_selectable(sparsert, models_dir):
    path = os.path.join(models_dir, "bert_tiny_op17.onnx")
    sess = sparsert.InferenceSession(path)
    ids = np.arange(12, dtype=np.int64).reshape(4, 3).T % 50  # a transposed (non-contiguous) view
    mask = np.ones((3, 4), np.int64)
    full = sess.run(None, {"input_ids": ids, "attention_mask": mask})
    again = sess.run(None, {"input_ids": np.ascontiguousarray(ids), "attention_mask": mask})
    np.testing.assert_array_equal(full[0], again[0])
    (pooled,) = sess.run(["pooler_output"], {"input_ids": ids, "attention_mask": mask})
    np.testing.assert_array_equal(pooled, full[1])
    assert sess.get_providers() == ["CPUExecutionProvider"] and sparsert.get_device() == "CPU"
    assert "MatMul" in sparsert.supported_ops()


def test_session_options_reach_the_runtime(sparsert, models_dir, tmp_path):
    path = os.path.join(models_dir, "bert_tiny_op17_4x1_90.onnx")
    so = sparsert.SessionOptions()
    so.sparse_kernels = "never"
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "prof")
    sess = sparsert.InferenceSession(path, so)
    assert "sparse_linear" not in sess.kernel_summary()
    ids = np.ones((1, 4), np.int64)
    sess.run(None, {"input_ids": ids, "attention_mask": ids})
    profile = sess.end_profiling()
    assert profile.startswith(str(tmp_path / "prof")) and os.path.getsize(profile) > 0
    dense_default = sparsert.InferenceSession(path)
    assert "sparse_linear" in dense_default.kernel_summary()
    ref = sparsert.SessionOptions()
    ref.graph_optimization_level = sparsert.GraphOptimizationLevel.ORT_DISABLE_ALL
    assert sparsert.InferenceSession(path, ref).kernel_summary().startswith("reference")
    q = sparsert.SessionOptions()
    q.quantize = "dynamic-int8"
    assert "sparse_integer_linear_u8s8" in sparsert.InferenceSession(path, q).kernel_summary()
    q.quantize = "int4"
    with pytest.raises(sparsert.InvalidArgument, match="quantize must be none or dynamic-int8"):
        sparsert.InferenceSession(path, q)


def test_a_second_session_shares_the_compiled_plan(sparsert, models_dir):
    path = os.path.join(models_dir, "bert_tiny_op17_4x1_90.onnx")
    first = sparsert.InferenceSession(path)
    second = sparsert.InferenceSession(path)
    assert second.shares_compiled_plan_with(first)
    own = sparsert.SessionOptions()
    own.share_compiled_plan = False
    assert not sparsert.InferenceSession(path, own).shares_compiled_plan_with(first)
    with open(path, "rb") as f:
        from_bytes = sparsert.InferenceSession(f.read())
    assert not from_bytes.shares_compiled_plan_with(first)  # bytes resolve no model directory
    ids = np.ones((1, 5), np.int64)
    feed = {"input_ids": ids, "attention_mask": ids}
    for a, b in zip(first.run(None, feed), second.run(None, feed)):
        np.testing.assert_array_equal(a, b)

