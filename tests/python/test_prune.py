"""The pruning tool: exact sparsity, the right block pattern per op layout, nothing else touched."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

from tests.models import prune
from tests.oracle import oracle


def _model(n=22, k=18):
    """MatMul (B is KxN), Gemm with transB (B is NxK), Conv (Cout x Cin x 3 x 3); ragged sizes on purpose."""
    rng = np.random.default_rng(0)
    inits = {
        "mm_w": rng.standard_normal((k, n)).astype(np.float32),
        "gemm_w": rng.standard_normal((n, k)).astype(np.float32),
        "conv_w": rng.standard_normal((10, 6, 3, 3)).astype(np.float32),
        "bias": rng.standard_normal(n).astype(np.float32),
    }
    nodes = [h.make_node("MatMul", ["x", "mm_w"], ["a"]), h.make_node("Gemm", ["x", "gemm_w", "bias"], ["b"], transB=1),
             h.make_node("Conv", ["img", "conv_w"], ["c"], pads=[1, 1, 1, 1])]
    g = h.make_graph(nodes, "p", [h.make_tensor_value_info("x", TP.FLOAT, [3, k]),
                                  h.make_tensor_value_info("img", TP.FLOAT, [1, 6, 5, 5])],
                     [h.make_tensor_value_info(o, TP.FLOAT, None) for o in "abc"],
                     initializer=[numpy_helper.from_array(v, name) for name, v in inits.items()])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 17)], ir_version=8), inits


def _weights(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


@pytest.mark.parametrize("pattern", ["unstructured", "4x1", "1x4"])
@pytest.mark.parametrize("sparsity", [0.5, 0.7, 0.9])
def test_pattern_and_exact_block_sparsity(pattern, sparsity):
    model, orig = _model()
    report = prune.prune_model(model, sparsity, pattern)
    assert {r.name for r in report} == {"mm_w", "gemm_w", "conv_w"}
    got = _weights(model)
    bn, bk = prune.PATTERNS[pattern]
    views = {"mm_w": ("MatMul", False), "gemm_w": ("Gemm", True), "conv_w": ("Conv", False)}
    for name, (op, trans_b) in views.items():
        nk = prune.to_nk(got[name], op, trans_b)
        n_blocks = (-(-nk.shape[0] // bn)) * (-(-nk.shape[1] // bk))
        # Exactly floor(s * blocks) blocks are zero (random normal weights have no accidental zeros).
        assert round(prune.block_sparsity(nk, bn, bk) * n_blocks) == int(np.floor(sparsity * n_blocks)), name
        # Kept weights are unchanged; zeroed ones are the smallest blocks.
        orig_nk = prune.to_nk(orig[name], op, trans_b)
        kept = nk != 0
        np.testing.assert_array_equal(nk[kept], orig_nk[kept])
        assert np.abs(orig_nk[~kept]).mean() < np.abs(orig_nk[kept]).mean()
    np.testing.assert_array_equal(got["bias"], orig["bias"])  # not a weight of a pruned op input slot


def test_4x1_blocks_span_output_channels():
    model, _ = _model(n=8, k=6)
    prune.prune_model(model, 0.5, "4x1")
    nk = prune.to_nk(_weights(model)["mm_w"], "MatMul", False)  # [N=8, K=6]
    for band in range(0, 8, 4):
        for kk in range(6):
            col = nk[band:band + 4, kk]
            assert (col == 0).all() or (col != 0).all(), "a 4x1 block is partly zero"


def test_pruned_model_still_runs_with_same_shapes(tmp_path):
    model, _ = _model()
    src = tmp_path / "m.onnx"
    onnx.save(model, str(src))
    dst = tmp_path / "m90.onnx"
    prune.prune_file(str(src), str(dst), 0.9, "4x1")
    inputs = oracle.random_inputs(str(src))
    a, b = oracle.run(str(src), inputs), oracle.run(str(dst), inputs)
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}


def test_bad_arguments_are_rejected():
    model, _ = _model()
    with pytest.raises(ValueError, match="sparsity"):
        prune.prune_model(model, 1.0, "4x1")
    with pytest.raises(ValueError, match="pattern"):
        prune.prune_model(model, 0.5, "2x2")
