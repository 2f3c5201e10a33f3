"""Tiny ONNX graphs per op family, built with onnx.helper.

Each case exercises edge cases of its ops (broadcasting, negative axes/steps,
pads, ceil mode, groups, dilation, older opsets whose attributes became inputs).
The generator runs every case through ONNX Runtime (tests/oracle) and the C++
end-to-end test compares sparsert against those outputs.
"""
from __future__ import annotations

from typing import Callable, Dict, List

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper

F, I64, B = TP.FLOAT, TP.INT64, TP.BOOL


def _vi(name, t, shape):
    return h.make_tensor_value_info(name, t, shape)


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def _model(name, nodes, inputs, outputs, inits=(), opset=17):
    g = h.make_graph(nodes, name, [_vi(*i) for i in inputs], [_vi(o[0], o[1], None) for o in outputs],
                     initializer=list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)], producer_name="sparsert-tests")
    m.ir_version = 8
    # Output shapes are left to ONNX shape inference (strict: a malformed case fails here).
    m = onnx.shape_inference.infer_shapes(m, strict_mode=True)
    onnx.checker.check_model(m)
    return m


def _rng():
    return np.random.default_rng(7)


def elementwise_broadcast():
    nodes = [h.make_node("Add", ["a", "b"], ["add"]), h.make_node("Sub", ["add", "c"], ["sub"]),
             h.make_node("Mul", ["sub", "b"], ["mul"]), h.make_node("Div", ["mul", "d"], ["div"]),
             h.make_node("Pow", ["div", "two"], ["pow"]), h.make_node("Max", ["pow", "a", "c"], ["max"]),
             h.make_node("Min", ["max", "b"], ["min"])]
    return _model("elementwise_broadcast", nodes, [("a", F, [2, 3, 4]), ("b", F, [3, 1]), ("c", F, [4]), ("d", F, [])],
                  [("div", F), ("pow", F), ("min", F)], [_init("two", np.float32(2.0))])


def broadcast_layouts():
    # Every fast layout of the binary kernels, on both sides, with odd sizes:
    # bias rows [N] and [S,N], per-row values [B,S,1] and [B,S,1,1], a scalar, and a
    # middle broadcast [B,1,N] that must take the general path.
    nodes = [h.make_node("Add", ["x", "row"], ["a1"]), h.make_node("Sub", ["row", "x"], ["a2"]),
             h.make_node("Mul", ["x", "rows2"], ["a3"]), h.make_node("Div", ["x", "perrow"], ["a4"]),
             h.make_node("Sub", ["perrow", "x"], ["a5"]), h.make_node("Mul", ["x4", "perrow4"], ["a6"]),
             h.make_node("Add", ["x", "mid"], ["a7"]), h.make_node("Div", ["s", "x"], ["a8"]),
             h.make_node("Pow", ["x", "s"], ["a9"]), h.make_node("Less", ["x", "row"], ["a10"])]
    return _model("broadcast_layouts", nodes,
                  [("x", F, [3, 5, 7]), ("row", F, [7]), ("rows2", F, [5, 7]), ("perrow", F, [3, 5, 1]),
                   ("x4", F, [2, 3, 5, 7]), ("perrow4", F, [2, 3, 1, 1]), ("mid", F, [3, 1, 7]), ("s", F, [])],
                  [(f"a{i}", F) for i in range(1, 10)] + [("a10", B)])


def compare_logic_where():
    nodes = [h.make_node("Less", ["a", "b"], ["lt"]), h.make_node("Greater", ["a", "b"], ["gt"]),
             h.make_node("Equal", ["ia", "ib"], ["eq"]), h.make_node("Not", ["lt"], ["nlt"]),
             h.make_node("Or", ["nlt", "eq"], ["or"]), h.make_node("And", ["or", "gt"], ["and"]),
             h.make_node("Xor", ["and", "eq"], ["xor"]), h.make_node("Where", ["xor", "a", "b"], ["w"]),
             h.make_node("LessOrEqual", ["a", "b"], ["le"]), h.make_node("GreaterOrEqual", ["ia", "ib"], ["ge"])]
    return _model("compare_logic_where", nodes,
                  [("a", F, [3, 4]), ("b", F, [4]), ("ia", I64, [3, 1]), ("ib", I64, [1, 4])],
                  [("w", F), ("le", B), ("ge", B)])


def unary_activations():
    chain = ["Relu", "Sigmoid", "Tanh", "Exp", "Erf", "Softplus", "Softsign", "HardSwish", "Neg", "Abs", "Sqrt",
             "Log", "Reciprocal", "Floor", "Ceil", "Sin", "Cos", "Sign", "Round"]
    nodes, outs = [], []
    for op in chain:
        nodes.append(h.make_node(op, ["x"], [op.lower()]))
        outs.append((op.lower(), F))
    nodes += [h.make_node("LeakyRelu", ["x"], ["leaky"], alpha=0.2), h.make_node("Elu", ["x"], ["elu"], alpha=0.7),
              h.make_node("Selu", ["x"], ["selu"]),
              h.make_node("HardSigmoid", ["x"], ["hsig"], alpha=0.3, beta=0.4)]
    outs += [("leaky", F), ("elu", F), ("selu", F), ("hsig", F)]
    return _model("unary_activations", nodes, [("x", F, [2, 17])], outs)


def clip_cast():
    nodes = [h.make_node("Clip", ["x", "lo", "hi"], ["clip"]), h.make_node("Clip", ["x", "", "hi"], ["clip_hi"]),
             h.make_node("Cast", ["clip"], ["as_int"], to=I64), h.make_node("Cast", ["as_int"], ["back"], to=F),
             h.make_node("Cast", ["x"], ["as_bool"], to=B), h.make_node("Identity", ["back"], ["ident"])]
    return _model("clip_cast", nodes, [("x", F, [5, 6])], [("clip_hi", F), ("ident", F), ("as_bool", B)],
                  [_init("lo", np.float32(-0.5)), _init("hi", np.float32(0.75))])


def matmul_gemm():
    r = _rng()
    nodes = [h.make_node("MatMul", ["a", "b"], ["mm"]), h.make_node("MatMul", ["v", "m"], ["vm"]),
             h.make_node("Gemm", ["g", "w", "c"], ["gemm"], transB=1, alpha=0.5, beta=2.0),
             h.make_node("Gemm", ["gt", "w2"], ["gemm_ta"], transA=1)]
    inits = [_init("w", r.standard_normal((6, 5)).astype(np.float32)), _init("c", r.standard_normal(6).astype(np.float32)),
             _init("w2", r.standard_normal((4, 3)).astype(np.float32))]
    return _model("matmul_gemm", nodes,
                  [("a", F, [2, 1, 3, 5]), ("b", F, [4, 5, 7]), ("v", F, [5]), ("m", F, [3, 5, 2]), ("g", F, [4, 5]),
                   ("gt", F, [4, 7])], [("mm", F), ("vm", F), ("gemm", F), ("gemm_ta", F)], inits)


def conv_variants():
    r = _rng()
    w = lambda *s: _init(f"w{len(s)}_{'x'.join(map(str, s))}", r.standard_normal(s).astype(np.float32) * 0.3)
    w1, w2, w3, w4 = w(8, 3, 3, 3), w(8, 4, 3, 2), w(6, 3, 5), w(8, 1, 3, 3)
    bias = _init("bias", r.standard_normal(8).astype(np.float32))
    nodes = [h.make_node("Conv", ["x", w1.name, "bias"], ["c1"], pads=[1, 0, 2, 1], strides=[2, 1]),
             h.make_node("Conv", ["c1", w2.name], ["c2"], group=2, dilations=[2, 1], pads=[2, 1, 1, 0]),
             h.make_node("Conv", ["c1", w2.name], ["c2same"], group=2, strides=[2, 2], auto_pad="SAME_UPPER"),
             h.make_node("Conv", ["c1", w2.name], ["c2low"], group=2, auto_pad="SAME_LOWER"),
             h.make_node("Conv", ["x1d", w3.name], ["c3"], pads=[2, 2], strides=[2]),
             h.make_node("Conv", ["c1", w4.name], ["dw"], group=8, pads=[1, 1, 1, 1])]
    return _model("conv_variants", nodes, [("x", F, [2, 3, 9, 8]), ("x1d", F, [1, 3, 11])],
                  [("c2", F), ("c2same", F), ("c2low", F), ("c3", F), ("dw", F)],
                  [w1, w2, w3, w4, bias])


def pooling():
    nodes = [h.make_node("MaxPool", ["x"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
             h.make_node("AveragePool", ["x"], ["ap"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1],
                         count_include_pad=1),
             h.make_node("AveragePool", ["x"], ["ap2"], kernel_shape=[2, 2], pads=[1, 1, 0, 0]),
             h.make_node("GlobalAveragePool", ["x"], ["gap"]), h.make_node("GlobalMaxPool", ["x"], ["gmp"])]
    return _model("pooling", nodes, [("x", F, [1, 3, 7, 8])], [("mp", F), ("ap", F), ("ap2", F), ("gap", F), ("gmp", F)])


def reductions():
    nodes = [h.make_node("ReduceMean", ["x", "ax"], ["mean"], keepdims=1),
             h.make_node("ReduceSum", ["x", "ax2"], ["sum"], keepdims=0), h.make_node("ReduceMax", ["x"], ["max"], keepdims=0),
             h.make_node("ReduceMin", ["x", "ax"], ["min"]), h.make_node("ReduceProd", ["x", "ax2"], ["prod"]),
             h.make_node("ReduceSumSquare", ["x", "ax"], ["ss"]), h.make_node("ReduceL2", ["x", "ax"], ["l2"]),
             h.make_node("ArgMax", ["x"], ["amax"], axis=-1, keepdims=0), h.make_node("ArgMin", ["x"], ["amin"], axis=1)]
    return _model("reductions", nodes, [("x", F, [2, 3, 5])],
                  [("mean", F), ("sum", F), ("max", F), ("min", F), ("prod", F), ("ss", F), ("l2", F), ("amax", I64),
                   ("amin", I64)], [_init("ax", np.array([-1], np.int64)), _init("ax2", np.array([0, 2], np.int64))],
                  opset=18)


def shape_chain():
    # The Shape->Gather->Unsqueeze->Concat->Reshape chain PyTorch emits for view(x.size(0), -1, ...).
    nodes = [h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "i0"], ["d0"], axis=0),
             h.make_node("Unsqueeze", ["d0", "ax0"], ["d0u"]), h.make_node("Concat", ["d0u", "tail"], ["shape"], axis=0),
             h.make_node("Reshape", ["x", "shape"], ["r"]), h.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
             h.make_node("Flatten", ["t"], ["f"], axis=2), h.make_node("Unsqueeze", ["f", "ax0"], ["u"]),
             h.make_node("Squeeze", ["u", "ax0"], ["sq"]), h.make_node("Expand", ["b", "eshape"], ["e"]),
             h.make_node("Tile", ["b", "reps"], ["tile"]), h.make_node("Shape", ["x"], ["s_tail"], start=-2)]
    inits = [_init("i0", np.int64(0)), _init("ax0", np.array([0], np.int64)),
             _init("tail", np.array([-1, 4], np.int64)), _init("eshape", np.array([2, 3, 4], np.int64)),
             _init("reps", np.array([2, 3], np.int64))]
    return _model("shape_chain", nodes, [("x", F, [2, 3, 8]), ("b", F, [3, 1])], [("sq", F), ("e", F), ("tile", F), ("s_tail", I64)], inits)


def slice_gather():
    nodes = [h.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["sl"]), h.make_node("Slice", ["x", "st2", "en2"], ["sl2"]),
             h.make_node("Gather", ["x", "idx"], ["g1"], axis=1), h.make_node("Gather", ["x", "idx0"], ["g0"], axis=0)]
    inits = [_init("st", np.array([-1, 1], np.int64)), _init("en", np.array([-100, 6], np.int64)),
             _init("ax", np.array([2, 0], np.int64)), _init("sp", np.array([-2, 2], np.int64)),
             _init("st2", np.array([1, 0], np.int64)), _init("en2", np.array([2 ** 62, 2], np.int64)),
             _init("idx", np.array([[0, -1], [2, 1]], np.int64)), _init("idx0", np.int64(-2))]
    return _model("slice_gather", nodes, [("x", F, [6, 4, 7])], [("sl", F), ("sl2", F), ("g1", F), ("g0", F)], inits)


def normalization():
    r = _rng()
    c = 5
    inits = [_init("scale", r.standard_normal(6).astype(np.float32)), _init("bias", r.standard_normal(6).astype(np.float32)),
             _init("bn_s", r.standard_normal(c).astype(np.float32)), _init("bn_b", r.standard_normal(c).astype(np.float32)),
             _init("bn_m", r.standard_normal(c).astype(np.float32)), _init("bn_v", r.uniform(0.5, 2, c).astype(np.float32))]
    nodes = [h.make_node("Softmax", ["x"], ["sm"], axis=1), h.make_node("LogSoftmax", ["x"], ["lsm"]),
             h.make_node("LayerNormalization", ["x", "scale", "bias"], ["ln"], axis=-1, epsilon=1e-3),
             h.make_node("BatchNormalization", ["img", "bn_s", "bn_b", "bn_m", "bn_v"], ["bn"], epsilon=1e-4)]
    return _model("normalization", nodes, [("x", F, [2, 5, 6]), ("img", F, [2, c, 3, 3])],
                  [("sm", F), ("lsm", F), ("ln", F), ("bn", F)], inits)


def split_concat_range():
    nodes = [h.make_node("Split", ["x", "sizes"], ["p0", "p1", "p2"], axis=1),
             h.make_node("Concat", ["p2", "p0", "p1"], ["cat"], axis=-1),
             h.make_node("Split", ["x"], ["q0", "q1"], axis=0, num_outputs=2),
             h.make_node("Range", ["start", "limit", "delta"], ["rng"]),
             h.make_node("ConstantOfShape", ["cshape"], ["cos"], value=_init("v", np.array([3], np.int64))),
             h.make_node("Mod", ["ia", "ib"], ["mod"]), h.make_node("Mod", ["a", "b"], ["fmod"], fmod=1)]
    inits = [_init("sizes", np.array([1, 3, 2], np.int64)), _init("start", np.float32(1.0)),
             _init("limit", np.float32(-2.0)), _init("delta", np.float32(-0.75)), _init("cshape", np.array([2, 3], np.int64)),
             # Nonzero divisors of both signs (integer division by zero is undefined; ORT traps on it).
             _init("ib", np.array([3, -2, 5, -7, 4], np.int64)), _init("b", np.array([0.7, -1.3, 2.0, -0.4, 1.1], np.float32))]
    return _model("split_concat_range", nodes,
                  [("x", F, [4, 6]), ("ia", I64, [5]), ("a", F, [5])],
                  [("cat", F), ("q1", F), ("rng", F), ("cos", I64), ("mod", I64), ("fmod", F)], inits, opset=18)


def legacy_opset11():
    # Attributes that later became inputs: the importer must normalize them.
    nodes = [h.make_node("Unsqueeze", ["x"], ["u"], axes=[0, 3]), h.make_node("Squeeze", ["u"], ["s"], axes=[0]),
             h.make_node("ReduceMean", ["s"], ["rm"], axes=[1], keepdims=1),
             h.make_node("ReduceSum", ["s"], ["rs"], axes=[-1], keepdims=0),
             h.make_node("Split", ["x"], ["a", "b"], axis=1, split=[1, 3]),
             h.make_node("Softmax", ["x3"], ["sm"], axis=1), h.make_node("Identity", ["b"], ["bid"])]
    return _model("legacy_opset11", nodes, [("x", F, [3, 4]), ("x3", F, [2, 3, 4])],
                  [("rm", F), ("rs", F), ("a", F), ("bid", F), ("sm", F)], opset=11)


def legacy_opset9():
    nodes = [h.make_node("Slice", ["x"], ["sl"], starts=[1, -3], ends=[3, 100], axes=[0, 1]),
             h.make_node("Clip", ["x"], ["clip"], min=-0.1, max=0.1)]
    return _model("legacy_opset9", nodes, [("x", F, [4, 5])], [("sl", F), ("clip", F)], opset=9)


def pad_modes():
    nodes = [h.make_node("Pad", ["x", "pads", "cv"], ["const"]),
             h.make_node("Pad", ["x", "pads2"], ["reflect"], mode="reflect"),
             h.make_node("Pad", ["x", "pads2"], ["edge"], mode="edge"),
             h.make_node("Pad", ["x", "crop"], ["crop_out"]),
             h.make_node("Pad", ["x", "pads_ax", "", "axes"], ["axes_out"])]
    inits = [_init("pads", np.array([1, 0, 2, 0, 2, 1], np.int64)), _init("cv", np.float32(-3.5)),
             _init("pads2", np.array([0, 2, 1, 0, 1, 2], np.int64)), _init("crop", np.array([0, -1, 1, 0, 0, -2], np.int64)),
             _init("pads_ax", np.array([1, 3], np.int64)), _init("axes", np.array([-1], np.int64))]
    return _model("pad_modes", nodes, [("x", F, [2, 3, 4])],
                  [("const", F), ("reflect", F), ("edge", F), ("crop_out", F), ("axes_out", F)], inits, opset=18)


def quantize_ops():
    r = _rng()
    w = r.integers(-128, 128, (5, 6)).astype(np.int8)
    inits = [_init("s", np.float32(0.05)), _init("zp", np.uint8(128)), _init("s_ax", np.array([0.1, 0.02, 0.3], np.float32)),
             _init("zp_ax", np.array([-3, 0, 7], np.int8)), _init("w", w), _init("w_scale", np.float32(0.01)),
             _init("w_zp", np.int8(2)), _init("y_scale", np.float32(0.2)), _init("y_zp", np.uint8(100)),
             _init("s_i32", np.float32(0.001)), _init("acc", np.array([-70000, 5, 123456], np.int32))]
    nodes = [h.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"]),
             h.make_node("DequantizeLinear", ["q", "s", "zp"], ["dq"]),
             h.make_node("QuantizeLinear", ["x3", "s_ax", "zp_ax"], ["q_ax"], axis=1),
             h.make_node("DequantizeLinear", ["q_ax", "s_ax", "zp_ax"], ["dq_ax"], axis=1),
             h.make_node("QLinearMatMul", ["q", "s", "zp", "w", "w_scale", "w_zp", "y_scale", "y_zp"], ["qmm"]),
             h.make_node("MatMulInteger", ["q", "w", "zp", "w_zp"], ["mmi"]),
             h.make_node("DynamicQuantizeLinear", ["x"], ["dy", "dy_s", "dy_zp"]),
             h.make_node("DequantizeLinear", ["acc", "s_i32"], ["dq_i32"])]
    return _model("quantize_ops", nodes, [("x", F, [4, 5]), ("x3", F, [2, 3, 4])],
                  [("dq", F), ("dq_ax", F), ("qmm", TP.UINT8), ("mmi", TP.INT32), ("dy", TP.UINT8), ("dy_s", F),
                   ("dy_zp", TP.UINT8), ("dq_i32", F), ("q_ax", TP.INT8)], inits, opset=13)


def conv_transpose():
    r = _rng()
    w = lambda name, *s: _init(name, r.standard_normal(s).astype(np.float32) * 0.3)
    inits = [w("w", 4, 3, 3, 3), w("wg", 4, 2, 2, 3), w("w1d", 4, 2, 4), _init("b", r.standard_normal(3).astype(np.float32))]
    nodes = [h.make_node("ConvTranspose", ["x", "w", "b"], ["t1"], strides=[2, 2], pads=[1, 0, 0, 1]),
             h.make_node("ConvTranspose", ["x", "wg"], ["t2"], group=2, strides=[2, 1], dilations=[1, 2],
                         output_padding=[1, 0]),
             h.make_node("ConvTranspose", ["x", "w"], ["t3"], strides=[2, 2], output_shape=[10, 9]),
             h.make_node("ConvTranspose", ["x", "w"], ["t4"], strides=[2, 3], auto_pad="SAME_UPPER"),
             h.make_node("ConvTranspose", ["x1d", "w1d"], ["t5"], strides=[3], pads=[1, 2])]
    return _model("conv_transpose", nodes, [("x", F, [2, 4, 5, 4]), ("x1d", F, [1, 4, 6])],
                  [("t1", F), ("t2", F), ("t3", F), ("t4", F), ("t5", F)], inits)


def resize_modes():
    f32 = lambda name, v: _init(name, np.array(v, np.float32))
    i64 = lambda name, v: _init(name, np.array(v, np.int64))
    R = lambda ins, out, **kw: h.make_node("Resize", ins, [out], **kw)
    nodes = [R(["x", "", "up"], "n_floor", mode="nearest", nearest_mode="floor", coordinate_transformation_mode="asymmetric"),
             R(["x", "", "up"], "n_half", mode="nearest"),
             R(["x", "", "", "sz"], "n_ceil", mode="nearest", nearest_mode="ceil", coordinate_transformation_mode="align_corners"),
             R(["x", "", "up"], "n_pc", mode="nearest", nearest_mode="round_prefer_ceil"),
             R(["x", "", "up"], "lin_half", mode="linear"),
             R(["x", "", "", "sz"], "lin_ac", mode="linear", coordinate_transformation_mode="align_corners"),
             R(["x", "", "", "sz"], "lin_pt", mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
             R(["x", "", "down"], "lin_down", mode="linear"),
             R(["x", "", "up"], "cubic", mode="cubic"),
             R(["x", "", "", "sz"], "cubic_ex", mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1,
               coordinate_transformation_mode="asymmetric"),
             R(["x", "roi", "", "crop_sz"], "crop", mode="linear", coordinate_transformation_mode="tf_crop_and_resize",
               extrapolation_value=-2.0),
             R(["x", "", "", "sz2"], "axes", mode="linear", axes=[3, 2]),
             R(["x", "", "", "sz2"], "keep", mode="nearest", axes=[2, 3], keep_aspect_ratio_policy="not_larger")]
    inits = [f32("up", [1, 1, 2, 1.5]), f32("down", [1, 1, 0.5, 0.6]), i64("sz", [2, 3, 7, 9]),
             f32("roi", [0, 0, -0.2, 0.3, 1, 1, 1.2, 0.8]), i64("crop_sz", [2, 3, 6, 5]), i64("sz2", [8, 11])]
    return _model("resize_modes", nodes, [("x", F, [2, 3, 5, 4])],
                  [(o, F) for o in ["n_floor", "n_half", "n_ceil", "n_pc", "lin_half", "lin_ac", "lin_pt", "lin_down",
                                    "cubic", "cubic_ex", "crop", "axes", "keep"]], inits, opset=18)


def resize_opset10():
    # Resize-10 takes (X, scales); the importer rewrites it to the opset-11 form.
    nodes = [h.make_node("Resize", ["x", "up"], ["n"], mode="nearest"),
             h.make_node("Resize", ["x", "up"], ["l"], mode="linear")]
    return _model("resize_opset10", nodes, [("x", F, [1, 2, 3, 4])], [("n", F), ("l", F)],
                  [_init("up", np.array([1, 1, 2, 3], np.float32))], opset=10)


def sort_scan_index():
    r = _rng()
    ties = r.integers(0, 4, (3, 7)).astype(np.float32)  # many equal values: index order decides
    inits = [_init("k3", np.array([3], np.int64)), _init("k2", np.array([2], np.int64)), _init("ties", ties),
             _init("ax1", np.int64(1)), _init("ax0", np.array([0], np.int32)), _init("diag", np.int64(-1)),
             _init("diag2", np.int64(2)), _init("gidx", np.array([[0, -1, 2], [3, 1, -4]], np.int64)),
             _init("gidx0", np.array([[1, 0, 2, 1, 0], [0, 2, 2, 1, 1]], np.int64))]
    nodes = [h.make_node("TopK", ["x", "k3"], ["tv", "ti"], axis=1),
             h.make_node("TopK", ["x", "k2"], ["sv", "si"], axis=-1, largest=0),
             h.make_node("TopK", ["ties", "k3"], ["tiev", "tiei"]),
             h.make_node("TopK", ["ties", "k2"], ["tiesv", "tiesi"], axis=0, largest=0),
             h.make_node("CumSum", ["x", "ax1"], ["cs"]),
             h.make_node("CumSum", ["x", "ax0"], ["cs_ex_rev"], exclusive=1, reverse=1),
             h.make_node("Trilu", ["x"], ["triu"]), h.make_node("Trilu", ["x", "diag"], ["tril"], upper=0),
             h.make_node("Trilu", ["x", "diag2"], ["triu2"]),
             h.make_node("GatherElements", ["m", "gidx"], ["ge1"], axis=1),
             h.make_node("GatherElements", ["m", "gidx0"], ["ge0"], axis=0)]
    return _model("sort_scan_index", nodes, [("x", F, [2, 4, 5]), ("m", F, [3, 5])],
                  [("tv", F), ("ti", I64), ("sv", F), ("si", I64), ("tiev", F), ("tiei", I64), ("tiesv", F),
                   ("tiesi", I64), ("cs", F), ("cs_ex_rev", F), ("triu", F), ("tril", F), ("triu2", F), ("ge1", F),
                   ("ge0", F)], inits)


def quantized_conv():
    # What ORT's quantizer writes for Conv: activations quantized in the graph. ORT runs
    # QLinearConv with uint8 x/y and int8 weights (per-channel scales, zero points 0).
    r = _rng()
    U8 = TP.UINT8
    # 7-bit weights, as ORT's quantizer makes them with reduce_range: ORT's AVX2 u8s8 kernels
    # add pairs of products in int16 (vpmaddubsw) and saturate with full-range weights.
    w = r.integers(-64, 64, (6, 3, 3, 3)).astype(np.int8)
    wdw = r.integers(-64, 64, (6, 1, 3, 3)).astype(np.int8)
    inits = [_init("xs", np.float32(0.02)), _init("xz", np.uint8(120)), _init("w", w), _init("wdw", wdw),
             _init("ws", np.float32(0.004)), _init("wz", np.int8(0)),
             _init("ws_ch", r.uniform(0.001, 0.01, 6).astype(np.float32)), _init("wz_ch", np.zeros(6, np.int8)),
             _init("ys", np.float32(0.05)), _init("yz", np.uint8(128)), _init("ys8", np.float32(0.03)),
             _init("yz8", np.uint8(10)), _init("bias", r.integers(-2000, 2000, 6).astype(np.int32)),
             _init("w_u8", r.integers(0, 256, (6, 3, 3, 3)).astype(np.uint8)), _init("wz_u8", np.uint8(131))]
    nodes = [h.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             # ORT's ConvInteger takes uint8 weights only.
             h.make_node("ConvInteger", ["xq", "w_u8", "xz"], ["ci"], pads=[1, 1, 1, 1]),
             h.make_node("ConvInteger", ["xq", "w_u8", "xz", "wz_u8"], ["ci_ch"], strides=[2, 2]),
             h.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "bias"], ["qc"], pads=[1, 1, 1, 1]),
             h.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws_ch", "wz_ch", "ys8", "yz8"], ["qc_ch"],
                         strides=[2, 1]),
             h.make_node("QLinearConv", ["qc", "ys", "yz", "wdw", "ws", "wz", "ys", "yz"], ["qc_dw"], group=6,
                         pads=[1, 1, 1, 1])]
    return _model("quantized_conv", nodes, [("x", F, [2, 3, 7, 6])],
                  [("ci", TP.INT32), ("ci_ch", TP.INT32), ("qc", U8), ("qc_ch", U8), ("qc_dw", U8)], inits, opset=13)


def zero_size_dims():
    # Zero-size dims through every op family: element-wise with broadcasting,
    # activations, softmax, reductions over kept and emptied axes, MatMul with
    # M = 0 and with K = 0 (a zero sum), LayerNorm, shape ops, Pad of an empty
    # tensor, Gather, Slice, Expand, Tile, Cast, ArgMax, CumSum, Transpose. (Not TopK: ONNX
    # Runtime 1.23.2 dies with SIGFPE on TopK of a [0, 5] input, so it cannot be the oracle.)
    r = _rng()
    nodes = [h.make_node("Add", ["x", "row"], ["add"]), h.make_node("Relu", ["add"], ["relu"]),
             h.make_node("Softmax", ["x"], ["softmax"], axis=-1),
             h.make_node("ReduceSum", ["x", "ax0"], ["rsum0"], keepdims=1),
             h.make_node("ReduceMean", ["x"], ["rmean1"], axes=[1], keepdims=0),
             h.make_node("MatMul", ["x", "w"], ["mm_m0"]), h.make_node("MatMul", ["e", "w0"], ["mm_k0"]),
             h.make_node("LayerNormalization", ["x", "scale", "bias"], ["ln"]),
             h.make_node("Transpose", ["y"], ["tr"], perm=[1, 0, 2]), h.make_node("Flatten", ["y"], ["flat"], axis=1),
             h.make_node("Concat", ["x", "x2"], ["cat"], axis=0),
             h.make_node("Pad", ["x", "pads"], ["pad"], mode="constant"),
             h.make_node("Gather", ["x", "idx"], ["gather"], axis=1),
             h.make_node("Slice", ["x", "starts", "ends", "axes"], ["slice"]),
             h.make_node("Expand", ["row2", "shape0"], ["expand"]), h.make_node("Tile", ["x", "reps"], ["tile"]),
             h.make_node("Cast", ["x"], ["cast"], to=TP.INT64),
             h.make_node("ArgMax", ["x"], ["argmax"], axis=1, keepdims=1),
             h.make_node("CumSum", ["x", "cax"], ["cumsum"]),
             h.make_node("Mul", ["y", "s"], ["mul_s"])]
    inits = [_init("row", r.standard_normal(5).astype(np.float32)), _init("ax0", np.array([0], np.int64)),
             _init("w", r.standard_normal((5, 3)).astype(np.float32)),
             _init("w0", np.zeros((0, 3), np.float32)), _init("scale", r.standard_normal(5).astype(np.float32)),
             _init("bias", r.standard_normal(5).astype(np.float32)), _init("pads", np.array([1, 0, 1, 0], np.int64)),
             _init("idx", np.array([4, 0], np.int64)), _init("starts", np.array([1], np.int64)),
             _init("ends", np.array([4], np.int64)), _init("axes", np.array([1], np.int64)),
             _init("row2", r.standard_normal((1, 5)).astype(np.float32)), _init("shape0", np.array([0, 5], np.int64)),
             _init("reps", np.array([2, 1], np.int64)),
             _init("cax", np.array(0, np.int64)), _init("s", np.array(1.5, np.float32))]
    outs = ["add", "relu", "softmax", "rsum0", "rmean1", "mm_m0", "mm_k0", "ln", "tr", "flat", "cat", "pad", "gather",
            "slice", "expand", "tile", "argmax", "cumsum", "mul_s"]
    types = {"cast": I64, "argmax": I64}
    return _model("zero_size_dims", nodes, [("x", F, [0, 5]), ("e", F, [2, 0]), ("y", F, [3, 0, 4]), ("x2", F, [2, 5])],
                  [(o, types.get(o, F)) for o in outs + ["cast"]], inits)


CASES: Dict[str, Callable[[], onnx.ModelProto]] = {f.__name__: f for f in [
    zero_size_dims,
    elementwise_broadcast, broadcast_layouts, compare_logic_where, unary_activations, clip_cast, matmul_gemm, conv_variants, pooling,
    reductions, shape_chain, slice_gather, pad_modes, quantize_ops, normalization, split_concat_range, legacy_opset11, legacy_opset9,
    conv_transpose, resize_modes, resize_opset10, sort_scan_index, quantized_conv]}
