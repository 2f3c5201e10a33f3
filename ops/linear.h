// com.sparsert Linear: Y = activation(X * W + bias) + residual, the fused form
// the fuse_linear_epilogue pass writes for MatMul (+ Add bias) (+ ReLU / GELU)
// (+ Add residual), so the kernels apply the whole chain while each output
// tile is in registers instead of four passes over memory.
//   inputs:  X float [..., K]; W float [K, N] (constant); bias float [N]
//            (optional); residual float of Y's shape (optional)
//   attribute activation: "none" | "relu" | "gelu_erf" | "gelu_tanh"
// Order: bias, then the activation, then the residual (BERT's
// LayerNorm(dense(x) + x) and FFN GELU(dense(x)) both fit).
#pragma once

#include "base/status.h"
#include "graph/graph.h"

namespace sparsert {

inline constexpr char kSparsertDomain[] = "com.sparsert";

enum class LinearActivation { kNone, kRelu, kGeluErf, kGeluTanh };

StatusOr<LinearActivation> linear_activation(const Node& node);
const char* linear_activation_name(LinearActivation a);

}  // namespace sparsert
