// Rewrites ONNX Runtime's QDQ form of a quantized MatMul (what quantize_static
// writes by default) into the QLinearMatMul it stands for, so the int8 kernels
// (sparse, oneDNN or the exact int16 one) run it instead of a float MatMul
// between dequantized tensors:
//   DequantizeLinear(a_q uint8, a_scale, a_zp) ──┐
//   DequantizeLinear(W_q int8 constant, w_scale, w_zp = 0) ── MatMul ── QuantizeLinear(y_scale, y_zp uint8)
// becomes QLinearMatMul(a_q, a_scale, a_zp, W_q, w_scale, w_zp, y_scale, y_zp)
// producing the QuantizeLinear's output, which is what ORT itself runs for
// this pattern. Scales and zero points must be constants; W per tensor or per
// output column (DequantizeLinear axis 1). Then every remaining
// QuantizeLinear whose only reader is a DequantizeLinear with the same scale
// and zero point becomes one com.sparsert QuantizeDequantize (same rounding,
// no 8-bit tensor in between). A Gather from a dequantized constant 8-bit
// table (per-tensor scale) gathers the 8-bit rows and dequantizes only those.
// A QuantizeDequantize whose input went through one with the same scale and
// zero point, with only data movement (Reshape, Transpose, ...) between them,
// is bypassed: it cannot change a value (exactly; see drop_repeated_quantization).
// Runs before constant folding, which would
// otherwise turn the int8 weights into float ones; the dequantizations left
// without readers go in dead-code elimination.
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many QLinearMatMul, QuantizeDequantize and 8-bit Gather nodes it
// wrote plus how many repeated quantizations it dropped.
StatusOr<int> run_fuse_qdq(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
