"""ONNX Runtime oracle: run a model on given inputs and save inputs + outputs.

Used by the tests (C++ end-to-end tests read the saved cases) and by perf/.
A saved case is a directory with inputs/*.npy, outputs/*.npy and case.txt:
    input <tensor name> inputs/<file>.npy
    output <tensor name> outputs/<file>.npy
so C++ can read it without a zip library. Names are kept in case.txt because
ONNX tensor names may contain characters that are not valid in file names.

CLI:  python tests/oracle/oracle.py MODEL.onnx --out CASE_DIR [--dim batch=1] [--seed 0]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from typing import Dict, Mapping, Optional

import numpy as np
import onnx
import onnxruntime as ort

ONNX_TO_NUMPY = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.BOOL: np.bool_,
}


def make_session(model_path: str, threads: int = 1, optimize: bool = True) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    if not optimize:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])


def run(model_path: str, inputs: Mapping[str, np.ndarray], threads: int = 1,
        optimize: bool = True) -> Dict[str, np.ndarray]:
    """Runs the model with ONNX Runtime; returns {output name: array} in model order.
    optimize=False gives the graph's literal semantics (ORT's optimizer turns QDQ
    into fused int8 kernels whose requantization differs from the QDQ graph by
    ~2-3% of output scale on our tiny BERT)."""
    sess = make_session(model_path, threads, optimize)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, dict(inputs))))


def _gather_bounds(model: onnx.ModelProto) -> Dict[str, int]:
    """Graph inputs used as Gather indices into a constant table -> table size."""
    inits = {t.name: t for t in model.graph.initializer}
    consumers: Dict[str, list] = {}
    for node in model.graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    bounds: Dict[str, int] = {}
    for inp in model.graph.input:
        frontier, hops = [inp.name], 0
        while frontier and hops < 4:
            nxt = []
            for v in frontier:
                for node in consumers.get(v, []):
                    if node.op_type == "Gather" and len(node.input) == 2 and node.input[1] == v and node.input[0] in inits:
                        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
                        dims = list(inits[node.input[0]].dims)
                        if dims:
                            b = dims[axis]
                            bounds[inp.name] = min(bounds.get(inp.name, b), b)
                    elif node.op_type in ("Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten") and node.input[0] == v:
                        nxt.append(node.output[0])
            frontier, hops = nxt, hops + 1
    return bounds


def random_inputs(model_path: str, dims: Optional[Mapping[str, int]] = None, seed: int = 0) -> Dict[str, np.ndarray]:
    """Random inputs like sparsert's Session::RandomInputs: ids stay inside their
    embedding table, *mask* inputs are ones, symbolic dims come from `dims` (else 1)."""
    dims = dict(dims or {})
    model = onnx.load(model_path, load_external_data=False)
    init_names = {t.name for t in model.graph.initializer}
    bounds = _gather_bounds(model)
    rng = np.random.default_rng(seed)
    out: Dict[str, np.ndarray] = {}
    for inp in model.graph.input:
        if inp.name in init_names:
            continue
        tt = inp.type.tensor_type
        shape = []
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                shape.append(d.dim_value)
            else:
                shape.append(dims.get(d.dim_param, 1))
        dtype = ONNX_TO_NUMPY.get(tt.elem_type)
        if dtype is None:
            raise ValueError(f"input '{inp.name}': unsupported element type {tt.elem_type}")
        is_mask = "mask" in inp.name
        if dtype in (np.float32, np.float64):
            arr = np.ones(shape, dtype) if is_mask else rng.standard_normal(shape).astype(dtype)
        elif dtype == np.bool_:
            arr = np.ones(shape, bool) if is_mask else rng.integers(0, 2, shape).astype(bool)
        else:
            hi = 2 if is_mask else bounds.get(inp.name, 2)
            lo = 1 if is_mask else 0
            arr = rng.integers(lo, hi, shape).astype(dtype)
        out[inp.name] = arr
    return out


def _safe(name: str, used: set) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "t"
    cand, i = base, 1
    while cand in used:
        cand, i = f"{base}_{i}", i + 1
    used.add(cand)
    return cand


def save_case(case_dir: str, inputs: Mapping[str, np.ndarray], outputs: Mapping[str, np.ndarray]) -> None:
    os.makedirs(os.path.join(case_dir, "inputs"), exist_ok=True)
    os.makedirs(os.path.join(case_dir, "outputs"), exist_ok=True)
    lines, used = [], set()
    for kind, tensors in (("input", inputs), ("output", outputs)):
        for name, arr in tensors.items():
            rel = f"{kind}s/{_safe(name, used)}.npy"
            # np.ascontiguousarray would turn 0-d arrays into 1-d ones.
            np.save(os.path.join(case_dir, rel), np.array(arr, order="C", copy=True))
            lines.append(f"{kind} {name} {rel}")
    with open(os.path.join(case_dir, "case.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def load_case(case_dir: str):
    inputs, outputs = {}, {}
    with open(os.path.join(case_dir, "case.txt")) as f:
        for line in f:
            kind, name, rel = line.rstrip("\n").split(" ", 2)
            (inputs if kind == "input" else outputs)[name] = np.load(os.path.join(case_dir, rel))
    return inputs, outputs


def make_case(model_path: str, case_dir: str, dims=None, seed: int = 0, optimize: bool = True) -> None:
    inputs = random_inputs(model_path, dims, seed)
    save_case(case_dir, inputs, run(model_path, inputs, optimize=optimize))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model")
    p.add_argument("--out", required=True, help="case directory to write")
    p.add_argument("--dim", action="append", default=[], help="symbolic dim NAME=VALUE")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    dims = {}
    for spec in a.dim:
        k, _, v = spec.partition("=")
        dims[k] = int(v)
    make_case(a.model, a.out, dims, a.seed)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
