"""sparsert: sparse and quantized ONNX inference on CPUs.

A drop-in for ONNX Runtime's InferenceSession::

    import sparsert as ort
    sess = ort.InferenceSession("model.onnx")
    outputs = sess.run(None, {"input_ids": ids, "attention_mask": mask})

Beyond ORT's options, SessionOptions takes sparsert's own: ``isa`` (cap the
instruction set), ``sparse_kernels`` ("auto" | "always" | "never"),
``sparsity_threshold``, ``quantize`` ("none" | "dynamic-int8"), ``disabled_passes``,
``disabled_kernels`` and ``share_compiled_plan`` (default True: a session of a model another
live session already compiled with the same options reuses its plan, kernels and packed
weights, and is created in milliseconds).
Errors raise ``sparsert.Error`` subclasses (``InvalidArgument``,
``NotImplemented``, ``NotFound``, ...) carrying the runtime's message.
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence

from . import _sparsert
from ._sparsert import (DataLoss, Error, FailedPrecondition, InternalError, InvalidArgument,  # noqa: F401
                        NotFound, NotImplemented, OutOfRange, ResourceExhausted)

__version__ = "0.1.0"
__all__ = ["InferenceSession", "SessionOptions", "GraphOptimizationLevel", "RunOptions", "NodeArg", "get_device",
           "get_available_providers", "supported_ops", "Error", "InvalidArgument", "NotImplemented", "NotFound"]


class GraphOptimizationLevel:
    """ONNX Runtime's levels; anything above ORT_DISABLE_ALL runs sparsert's whole pipeline."""
    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class SessionOptions:
    """ORT's SessionOptions fields sparsert honours, plus its own."""

    def __init__(self) -> None:
        self.intra_op_num_threads: int = 0  # 0: one per core
        self.inter_op_num_threads: int = 0  # accepted for compatibility; runs are intra-op parallel
        self.graph_optimization_level: int = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.enable_profiling: bool = False
        self.profile_file_prefix: str = "sparsert_profile"
        self.enable_mem_pattern: bool = True
        self.isa: str = ""
        self.sparse_kernels: str = "auto"
        self.sparsity_threshold: float = -1.0
        self.quantize: str = "none"  # or "dynamic-int8": pruned float MatMuls on the int8 sparse kernels
        self.disabled_passes: List[str] = []
        self.disabled_kernels: List[str] = []
        self.share_compiled_plan: bool = True

    def _core(self) -> "_sparsert.SessionOptions":
        o = _sparsert.SessionOptions()
        o.threads = int(self.intra_op_num_threads)
        o.optimization_level = 0 if self.graph_optimization_level == GraphOptimizationLevel.ORT_DISABLE_ALL else 99
        if self.enable_profiling:
            o.profile_file = f"{self.profile_file_prefix}_{time.strftime('%Y-%m-%d_%H-%M-%S')}.json"
        o.enable_mem_pattern = bool(self.enable_mem_pattern)
        o.isa = self.isa
        o.sparse_kernels = self.sparse_kernels
        o.sparsity_threshold = float(self.sparsity_threshold)
        o.quantize = self.quantize
        o.disabled_passes = set(self.disabled_passes)
        o.disabled_kernels = set(self.disabled_kernels)
        o.share_compiled_plan = bool(self.share_compiled_plan)
        return o


class RunOptions:
    """Accepted for compatibility with ORT's run(); no option changes a sparsert run."""

    def __init__(self) -> None:
        self.log_severity_level = 2
        self.run_tag = ""


class NodeArg:
    """An input or output as ORT describes it: name, shape (ints, dim names or None), type "tensor(float)"."""

    def __init__(self, info: Dict[str, Any]) -> None:
        self.name: str = info["name"]
        self.shape: Optional[List[Any]] = info["shape"]
        self.type: str = f"tensor({info['type']})"

    def __repr__(self) -> str:
        return f"NodeArg(name='{self.name}', type='{self.type}', shape={self.shape})"


class InferenceSession:
    """ONNX Runtime's InferenceSession API on sparsert."""

    def __init__(self, path_or_bytes: Any, sess_options: Optional[SessionOptions] = None,
                 providers: Optional[Sequence[Any]] = None, provider_options: Optional[Sequence[Any]] = None,
                 **kwargs: Any) -> None:
        self._options = sess_options or SessionOptions()
        model = path_or_bytes if isinstance(path_or_bytes, bytes) else os.fspath(path_or_bytes)
        self._sess = _sparsert.Session(model, self._options._core())
        self._inputs = [NodeArg(i) for i in self._sess.inputs()]
        self._outputs = [NodeArg(o) for o in self._sess.outputs()]
        self._model_path = model if isinstance(model, str) else None

    def get_inputs(self) -> List[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> List[NodeArg]:
        return list(self._outputs)

    def get_overridable_initializers(self) -> List[NodeArg]:
        return []

    def get_providers(self) -> List[str]:
        return ["CPUExecutionProvider"]

    def get_session_options(self) -> SessionOptions:
        return self._options

    def run(self, output_names: Optional[Iterable[str]], input_feed: Dict[str, Any],
            run_options: Optional[RunOptions] = None) -> List[Any]:
        """Runs the model; output_names None or empty = all outputs in model order."""
        return self._sess.run(list(output_names or []), dict(input_feed))

    def end_profiling(self) -> str:
        return self._sess.end_profiling()

    # sparsert's own
    def shares_compiled_plan_with(self, other: "InferenceSession") -> bool:
        """True when both sessions run one compiled plan (SessionOptions.share_compiled_plan)."""
        return self._sess.shares_compiled_plan_with(other._sess)

    def kernel_summary(self) -> str:
        """Kernels chosen, by count: "onednn_linear_f32 x73, sparse_linear_f32 x12, ..."."""
        return self._sess.kernel_summary()

    def isa(self) -> str:
        return self._sess.isa()


def get_device() -> str:
    return "CPU"


def get_available_providers() -> List[str]:
    return ["CPUExecutionProvider"]


def supported_ops() -> List[str]:
    return list(_sparsert.supported_ops())
