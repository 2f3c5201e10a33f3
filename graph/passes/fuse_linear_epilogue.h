// Fuses MatMul(X, W constant 2-D float) with what follows it into one
// com.sparsert Linear (ops/linear.h), and ORT's dynamic quantization of a
// MatMul (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul by
// x_scale * w_scale) into IntegerLinear where the sparse int8 kernels will run
// it (the cost model under the session's policy). Then: an Add of a constant bias [N], then
// ReLU / GELU (the Gelu op, or the Div-Erf-Add-Mul-Mul form PyTorch exports),
// then an Add of a residual with the output's (static or symbolic) shape.
// Intermediate values that are graph outputs or have other readers stop the
// chain there; a residual that depends on the MatMul is never fused (cycle).
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many Linear / IntegerLinear nodes it wrote.
StatusOr<int> run_fuse_linear_epilogue(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
