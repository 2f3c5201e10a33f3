// SessionOptions::quantize = "dynamic-int8" (sparse_run --quantize
// dynamic-int8): runs the pruned float MatMuls of an fp32 model on the int8
// sparse kernels, for users whose pruned models are fp32. Each MatMul with a
// constant float weight W[K, N] whose int8 copy the sparse cost model would
// run sparse becomes what ONNX Runtime's quantize_dynamic writes:
//   DynamicQuantizeLinear(x) -> MatMulInteger(x_q, W_q, x_zp) -> Cast(float)
//   -> Mul(x_scale * w_scale[N])
// with W_q symmetric per output column (w_scale[n] = max_k |W[k, n]| / 127, so
// a pruned zero stays a zero and the sparsity pattern is kept), and activations
// quantized per tensor at run time. fuse_linear_epilogue then folds the chain,
// bias, GELU and residual into one IntegerLinear on the sparse int8 kernels.
// Layers the cost model keeps dense stay float (dense int8 without VNNI is not
// faster than oneDNN's f32 here, and would only cost accuracy).
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many MatMuls it quantized (0 unless ctx.quantize is "dynamic-int8").
StatusOr<int> run_quantize_dynamic(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
