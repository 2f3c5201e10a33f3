// Fuses MatMul(X, W constant 2-D float) with what follows it into one
// com.sparsert Linear (ops/linear.h): an Add of a constant bias [N], then
// ReLU / GELU (the Gelu op, or the Div-Erf-Add-Mul-Mul form PyTorch exports),
// then an Add of a residual with the output's (static or symbolic) shape.
// Intermediate values that are graph outputs or have other readers stop the
// chain there; a residual that depends on the MatMul is never fused (cycle).
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many Linear nodes it wrote.
StatusOr<int> run_fuse_linear_epilogue(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
