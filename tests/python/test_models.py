"""The model generators: exports are valid ONNX and faithful to the torch modules they come from."""
import os

import numpy as np
import onnx
import pytest
import torch

from tests.models import bert, convnet, gpt2, op_graphs
from tests.oracle import oracle


@pytest.mark.parametrize("name", sorted(op_graphs.CASES))
def test_op_graphs_are_valid(name):
    model = op_graphs.CASES[name]()
    onnx.checker.check_model(model, full_check=True)
    assert len(model.graph.node) >= 2


@pytest.mark.parametrize("opset", [13, 17])
def test_bert_export_matches_torch(tmp_path, opset):
    path = str(tmp_path / "bert.onnx")
    bert.export(path, bert.TINY, opset, seed=3)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    # opset 17 fuses LayerNorm; opset 13 keeps the decomposed form users' older exports have.
    assert ("LayerNormalization" in ops) == (opset >= 17)
    assert {"MatMul", "Softmax", "Erf", "Gather"} <= ops
    ids = np.random.default_rng(0).integers(0, bert.TINY.vocab_size, (2, 24)).astype(np.int64)
    mask = np.ones((2, 24), np.int64)
    mask[1, 20:] = 0  # padding in the second sequence exercises the additive mask
    got = oracle.run(path, {"input_ids": ids, "attention_mask": mask})
    with torch.no_grad():
        want = bert.build(bert.TINY, seed=3)(torch.from_numpy(ids), torch.from_numpy(mask))
    np.testing.assert_allclose(got["last_hidden_state"], want[0].numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got["pooler_output"], want[1].numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("opset", [13, 17])
def test_gpt2_export_matches_torch(tmp_path, opset):
    path = str(tmp_path / "gpt2.onnx")
    gpt2.export(path, gpt2.TINY, opset, seed=4)
    model = onnx.load(path)
    onnx.checker.check_model(model)
    ops = {n.op_type for n in model.graph.node}
    # The causal mask: HF's sliced tril buffer at opset 13, ONNX Trilu from opset 14.
    assert ("Trilu" in ops) == (opset >= 14)
    assert {"CumSum", "Where", "Tanh", "Split", "Softmax"} <= ops
    ids = np.random.default_rng(1).integers(0, gpt2.TINY.vocab_size, (2, 11)).astype(np.int64)
    mask = np.ones((2, 11), np.int64)
    mask[0, 8:] = 0
    got = oracle.run(path, {"input_ids": ids, "attention_mask": mask})["logits"]
    with torch.no_grad():
        want = gpt2.build(gpt2.TINY, use_trilu=opset >= 14, seed=4)(torch.from_numpy(ids), torch.from_numpy(mask))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-4)


def test_bert_base_config_is_the_published_shape():
    c = bert.BASE
    assert (c.hidden, c.layers, c.heads, c.ffn, c.vocab_size, c.max_positions) == (768, 12, 12, 3072, 30522, 512)


def test_tiny_convnet_export_matches_torch(tmp_path):
    path = str(tmp_path / "cnn.onnx")
    convnet.export_tiny(path, 17, seed=5)
    x = np.random.default_rng(1).standard_normal((3, 3, 32, 32)).astype(np.float32)
    got = oracle.run(path, {"input": x})["output"]
    torch.manual_seed(5)
    m = convnet.TinyConvNet()
    convnet._randomize_bn(m)
    with torch.no_grad():
        want = m.eval()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert {"Conv", "Add", "MaxPool", "AveragePool", "Gemm"} <= ops


def test_default_set_manifest_lists_models_with_cases(models_dir):
    lines = open(os.path.join(models_dir, "manifest.txt")).read().split("\n")
    entries = [line.split() for line in lines if line.strip()]
    assert len(entries) >= 20
    for model, case, tol in entries:
        assert os.path.exists(os.path.join(models_dir, model)), model
        assert os.path.exists(os.path.join(models_dir, case, "case.txt")), case
        assert 0 < float(tol) <= 1e-3
    for demo in ("bert_tiny.onnx", "bert_tiny_4x1_90.onnx"):
        assert os.path.exists(os.path.join(models_dir, "demo", demo))
