"""Magnitude pruning of an ONNX model's MatMul/Gemm/Conv weights.

Patterns, in terms of the weight seen as W[N, K] (N output channels, K input
channels, whatever the op's storage layout):
  unstructured  individual weights
  4x1           blocks of 4 consecutive output channels x 1 input channel
                (Intel Neural Compressor / SparseLib convention)
  1x4           blocks of 1 output channel x 4 consecutive input channels
The lowest-magnitude weights (or blocks, by L2 norm) are zeroed so that
exactly floor(sparsity * count) of them are zero in each tensor. A partial
block at a ragged edge (N or K not a multiple of 4) is a block of its own.

CLI:  python tests/models/prune.py IN.onnx -o OUT.onnx --sparsity 0.9 --pattern 4x1 [--ops MatMul,Gemm,Conv]
"""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np
import onnx
from onnx import numpy_helper

PATTERNS = {"unstructured": (1, 1), "4x1": (4, 1), "1x4": (1, 4)}


@dataclass
class PrunedWeight:
    name: str
    op: str
    shape: Tuple[int, ...]
    sparsity: float


def to_nk(w: np.ndarray, op: str, trans_b: bool) -> np.ndarray:
    """View a weight as [N, K] (output channels x input channels)."""
    if op == "MatMul":
        return w.T  # B is [K, N]
    if op == "Gemm":
        return w if trans_b else w.T
    if op == "Conv":
        return w.reshape(w.shape[0], -1)  # [Cout, Cin/g * kh * kw]
    raise ValueError(op)


def from_nk(nk: np.ndarray, like: np.ndarray, op: str, trans_b: bool) -> np.ndarray:
    if op == "MatMul" or (op == "Gemm" and not trans_b):
        return np.ascontiguousarray(nk.T)
    return nk.reshape(like.shape)


def block_mask(nk: np.ndarray, sparsity: float, bn: int, bk: int) -> np.ndarray:
    """Boolean keep-mask for W[N,K] zeroing the lowest-L2 blocks of bn x bk."""
    n, k = nk.shape
    pn, pk = -(-n // bn) * bn, -(-k // bk) * bk
    padded = np.zeros((pn, pk), np.float64)
    padded[:n, :k] = nk
    norms = np.sqrt((padded.reshape(pn // bn, bn, pk // bk, bk) ** 2).sum(axis=(1, 3)))
    count = norms.size
    n_zero = int(np.floor(sparsity * count))
    keep_blocks = np.ones(count, bool)
    if n_zero > 0:
        keep_blocks[np.argsort(norms, axis=None, kind="stable")[:n_zero]] = False
    keep = np.repeat(np.repeat(keep_blocks.reshape(norms.shape), bn, axis=0), bk, axis=1)
    return keep[:n, :k]


def block_sparsity(nk: np.ndarray, bn: int, bk: int) -> float:
    """Fraction of bn x bk blocks of W[N,K] that are entirely zero."""
    n, k = nk.shape
    pn, pk = -(-n // bn) * bn, -(-k // bk) * bk
    padded = np.zeros((pn, pk), nk.dtype)
    padded[:n, :k] = nk
    nz = (padded.reshape(pn // bn, bn, pk // bk, bk) != 0).any(axis=(1, 3))
    return 1.0 - nz.mean()


def weight_views(model: onnx.ModelProto, ops: Iterable[str]):
    """Yields (initializer name, op, trans_b) for each prunable weight."""
    ops = set(ops)
    inits = {t.name for t in model.graph.initializer}
    seen = set()
    for node in model.graph.node:
        if node.op_type not in ops or len(node.input) < 2:
            continue
        name = node.input[1]
        if name not in inits or name in seen:
            continue
        trans_b = any(a.name == "transB" and a.i for a in node.attribute)
        seen.add(name)
        yield name, node.op_type, trans_b


def prune_model(model: onnx.ModelProto, sparsity: float, pattern: str,
                ops: Iterable[str] = ("MatMul", "Gemm", "Conv"), min_elements: int = 0) -> List[PrunedWeight]:
    """Prunes `model` in place; returns what was pruned."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {sorted(PATTERNS)}, got '{pattern}'")
    bn, bk = PATTERNS[pattern]
    by_name = {t.name: t for t in model.graph.initializer}
    report = []
    for name, op, trans_b in list(weight_views(model, ops)):
        tensor = by_name[name]
        w = numpy_helper.to_array(tensor)
        if w.dtype not in (np.float32, np.float64) or w.ndim < 2 or w.size < min_elements:
            continue
        nk = to_nk(w, op, trans_b)
        pruned = from_nk(np.where(block_mask(nk, sparsity, bn, bk), nk, 0).astype(w.dtype), w, op, trans_b)
        tensor.CopyFrom(numpy_helper.from_array(pruned, name))
        report.append(PrunedWeight(name, op, tuple(w.shape), float((pruned == 0).mean())))
    return report


def prune_file(src: str, dst: str, sparsity: float, pattern: str, ops=("MatMul", "Gemm", "Conv"),
               min_elements: int = 0) -> List[PrunedWeight]:
    model = onnx.load(src)
    report = prune_model(model, sparsity, pattern, ops, min_elements)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    if model.ByteSize() > 1_900_000_000:
        onnx.save(model, dst, save_as_external_data=True, location=os.path.basename(dst) + ".data")
    else:
        onnx.save(model, dst)
    return report


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description="Magnitude-prune MatMul/Gemm/Conv weights of an ONNX model.")
    p.add_argument("model")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--sparsity", type=float, required=True, help="fraction of weights (or blocks) to zero, e.g. 0.9")
    p.add_argument("--pattern", default="unstructured", choices=sorted(PATTERNS))
    p.add_argument("--ops", default="MatMul,Gemm,Conv", help="comma-separated op types whose weights to prune")
    p.add_argument("--min-elements", type=int, default=0, help="skip weights smaller than this")
    a = p.parse_args(argv)
    report = prune_file(a.model, a.output, a.sparsity, a.pattern, a.ops.split(","), a.min_elements)
    for r in report:
        print(f"{r.op:7s} {r.name:60s} {str(r.shape):20s} sparsity {r.sparsity:.3f}")
    print(f"pruned {len(report)} weights -> {a.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
