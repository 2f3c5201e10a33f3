"""The ONNX Runtime oracle agrees with numpy on small graphs, and its saved cases round-trip."""
import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from tests.oracle import oracle


def _save(model, path):
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)  # fills the outputs' types
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def test_oracle_matches_numpy_on_a_small_mlp(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 7)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    g = h.make_graph(
        [h.make_node("MatMul", ["x", "w"], ["mm"]), h.make_node("Add", ["mm", "b"], ["pre"]),
         h.make_node("Relu", ["pre"], ["act"]), h.make_node("Softmax", ["act"], ["y"], axis=-1)],
        "mlp", [h.make_tensor_value_info("x", TP.FLOAT, ["batch", 5])], [h.make_tensor_value_info("y", TP.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    path = _save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), tmp_path / "mlp.onnx")
    x = rng.standard_normal((3, 5)).astype(np.float32)
    got = oracle.run(path, {"x": x})["y"]
    z = np.maximum(x @ w + b, 0)
    want = np.exp(z - z.max(-1, keepdims=True))
    want /= want.sum(-1, keepdims=True)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_random_inputs_respect_gather_tables_masks_and_dims(tmp_path):
    table = np.zeros((37, 4), np.float32)
    g = h.make_graph(
        [h.make_node("Gather", ["table", "ids"], ["emb"]), h.make_node("Cast", ["mask"], ["mf"], to=TP.FLOAT),
         h.make_node("Unsqueeze", ["mf", "ax"], ["mu"]), h.make_node("Mul", ["emb", "mu"], ["y"])],
        "g", [h.make_tensor_value_info("ids", TP.INT64, ["batch", "sequence"]),
              h.make_tensor_value_info("mask", TP.INT64, ["batch", "sequence"])],
        [h.make_tensor_value_info("y", TP.FLOAT, None)],
        initializer=[numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([-1], np.int64), "ax")])
    path = _save(h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), tmp_path / "g.onnx")
    inputs = oracle.random_inputs(path, {"batch": 3, "sequence": 50}, seed=1)
    assert inputs["ids"].shape == (3, 50) and inputs["ids"].dtype == np.int64
    assert inputs["ids"].min() >= 0 and inputs["ids"].max() < 37 and inputs["ids"].max() > 20
    assert (inputs["mask"] == 1).all()
    assert oracle.run(path, inputs)["y"].shape == (3, 50, 4)


def test_cases_round_trip_including_scalars_and_odd_names(tmp_path):
    inputs = {"a/b:0": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float32(2.5) * np.ones((), np.float32)}
    outputs = {"out": np.array([True, False]), "idx": np.array([3, -1], np.int64)}
    oracle.save_case(str(tmp_path / "c"), inputs, outputs)
    got_in, got_out = oracle.load_case(str(tmp_path / "c"))
    assert list(got_in) == ["a/b:0", "s"] and list(got_out) == ["out", "idx"]
    assert got_in["s"].shape == ()  # 0-d stays 0-d
    for k, v in {**inputs, **outputs}.items():
        np.testing.assert_array_equal({**got_in, **got_out}[k], v)
