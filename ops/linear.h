// com.sparsert Linear: Y = activation(X * W + bias) + residual, the fused form
// the fuse_linear_epilogue pass writes for MatMul (+ Add bias) (+ ReLU / GELU)
// (+ Add residual), so the kernels apply the whole chain while each output
// tile is in registers instead of four passes over memory.
//   inputs:  X float [..., K]; W float [K, N] (constant); bias float [N]
//            (optional); residual float of Y's shape (optional)
//   attribute activation: "none" | "relu" | "gelu_erf" | "gelu_tanh"
// Order: bias, then the activation, then the residual (BERT's
// LayerNorm(dense(x) + x) and FFN GELU(dense(x)) both fit).
//
// com.sparsert IntegerLinear: the same epilogue after an exact int8 product,
// the fused form of ORT's dynamic quantization (MatMulInteger -> Cast ->
// Mul(x_scale * w_scale) -> Add bias ...):
//   Y = activation(float(sum_k (Xq - x_zero_point) * Wq) * (x_scale * w_scale[n]) + bias) + residual
//   inputs:  Xq uint8 [..., K]; Wq int8 [K, N] (constant, zero point 0);
//            x_zero_point uint8 scalar; x_scale float scalar; w_scale float
//            constant of 1 or N elements; bias float [N] (optional);
//            residual float of Y's shape (optional)
//   attribute activation as for Linear.
#pragma once

#include <optional>

#include "base/status.h"
#include "graph/graph.h"
#include "ops/shape_rules.h"

namespace sparsert {

inline constexpr char kSparsertDomain[] = "com.sparsert";

enum class LinearActivation { kNone, kRelu, kGeluErf, kGeluTanh };

StatusOr<LinearActivation> linear_activation(const Node& node);
const char* linear_activation_name(LinearActivation a);
// The activation in double with exact std::erf / std::tanh (reference kernels).
double apply_linear_activation(LinearActivation a, double v);
// The reference epilogue of one output value: + bias[n], activation, + residual[n]
// (bias and residual_row may be null).
float linear_epilogue_reference(double v, const float* bias, LinearActivation act, const float* residual_row, int64_t n);
// The reference kernels' checks: X [..., K] times W [K, N], bias of N, residual
// of the output's shape; returns the output shape or an error naming the node.
StatusOr<Shape> linear_output_shape(const Node& node, const Tensor& x, const Tensor& w, const Tensor* bias,
                                    const Tensor* residual);
// Output type of Linear / IntegerLinear: X's dims with the last replaced by W's second.
Status linear_shape_rule(InferContext& c);

// Helpers for the implementations of constant-weight linear layers:
// The constant float bias of N elements at input i: nullopt when the input is
// absent, Unimplemented (naming why) when it is not such a constant.
StatusOr<std::optional<Tensor>> constant_bias(const Node& n, const Graph& g, size_t i, int64_t N);
// Gemm as Y = X * op(W) + bias with W a 2-D float constant, transA = 0,
// alpha = 1 and C absent, beta = 0, or a bias of N elements with beta = 1.
struct GemmAsLinear {
  const Tensor* w = nullptr;
  bool trans_b = false;
  std::optional<Tensor> bias;
};
StatusOr<GemmAsLinear> gemm_as_linear(const Node& n, const Graph& g);

}  // namespace sparsert
