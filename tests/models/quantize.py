"""Quantized copies of a float model, made with ONNX Runtime's own tools (the
forms users' quantized models have):
  dynamic_int8   quantize_dynamic: DynamicQuantizeLinear + MatMulInteger
  qdq_int8       quantize_static, QDQ format, per-channel weights, calibrated on random inputs
  int4_nbits     MatMulNBitsQuantizer: com.microsoft MatMulNBits, 4-bit, block 32
"""
from __future__ import annotations

import logging
import os
import tempfile

import onnx

from tests.oracle import oracle


def dynamic_int8(src: str, dst: str) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(src, dst, weight_type=QuantType.QInt8)


class _RandomReader:
    def __init__(self, model: str, dims, n: int = 4):
        self.batches = [oracle.random_inputs(model, dims, seed=100 + i) for i in range(n)]

    def get_next(self):
        return self.batches.pop() if self.batches else None


def qdq_int8(src: str, dst: str, dims) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    logging.getLogger().setLevel(logging.ERROR)
    quantize_static(src, dst, _RandomReader(src, dims), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)


def int4_nbits(src: str, dst: str, block_size: int = 32) -> None:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger().setLevel(logging.ERROR)
    q = MatMulNBitsQuantizer(onnx.load(src), block_size=block_size, is_symmetric=False)
    q.process()
    q.model.save_model_to_file(dst, use_external_data_format=False)
