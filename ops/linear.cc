#include "ops/linear.h"

#include <cmath>

#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"
#include "ops/shape_rules_util.h"

namespace sparsert {

StatusOr<LinearActivation> linear_activation(const Node& node) {
  SPARSERT_ASSIGN_OR_RETURN(std::string a, node.attrs.get_string("activation", "none"));
  if (a == "none") return LinearActivation::kNone;
  if (a == "relu") return LinearActivation::kRelu;
  if (a == "gelu_erf") return LinearActivation::kGeluErf;
  if (a == "gelu_tanh") return LinearActivation::kGeluTanh;
  return InvalidArgument(node.describe(), ": activation must be none, relu, gelu_erf or gelu_tanh, got '", a, "'");
}

const char* linear_activation_name(LinearActivation a) {
  switch (a) {
    case LinearActivation::kNone: return "none";
    case LinearActivation::kRelu: return "relu";
    case LinearActivation::kGeluErf: return "gelu_erf";
    case LinearActivation::kGeluTanh: return "gelu_tanh";
  }
  return "?";
}

double apply_linear_activation(LinearActivation a, double v) {
  switch (a) {
    case LinearActivation::kNone: return v;
    case LinearActivation::kRelu: return std::max(v, 0.0);
    case LinearActivation::kGeluErf: return 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    case LinearActivation::kGeluTanh:
      return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
  }
  return v;
}

StatusOr<std::optional<Tensor>> constant_bias(const Node& n, const Graph& g, size_t i, int64_t N) {
  if (n.inputs.size() <= i || n.inputs[i] == kNoValue) return std::optional<Tensor>();
  const Tensor* c = constant_input(n, g, i);
  if (!c) return Unimplemented("bias is not a constant");
  if (c->dtype() != DType::kFloat32 || c->num_elements() != N || c->rank() < 1 || c->shape().back() != N)
    return Unimplemented("bias is ", c->type_string(), ", only a float bias of ", N, " elements is fused");
  return std::optional<Tensor>(*c);
}

StatusOr<GemmAsLinear> gemm_as_linear(const Node& n, const Graph& g) {
  GemmAsLinear out;
  out.w = constant_input(n, g, 1);
  if (!out.w) return Unimplemented("B is not a constant");
  if (out.w->dtype() != DType::kFloat32 || out.w->rank() != 2)
    return Unimplemented("B is ", out.w->type_string(), ", needs a 2-D float constant");
  SPARSERT_ASSIGN_OR_RETURN(int64_t trans_a, n.attrs.get_int("transA", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t trans_b, n.attrs.get_int("transB", 0));
  SPARSERT_ASSIGN_OR_RETURN(float alpha, n.attrs.get_float("alpha", 1.f));
  SPARSERT_ASSIGN_OR_RETURN(float beta, n.attrs.get_float("beta", 1.f));
  if (trans_a) return Unimplemented("transA=1");
  if (alpha != 1.f) return Unimplemented("alpha=", alpha, " (only 1 is fused)");
  out.trans_b = trans_b != 0;
  const int64_t N = out.trans_b ? out.w->dim(0) : out.w->dim(1);
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue && beta != 0.f) {
    const Tensor* c = constant_input(n, g, 2);
    if (!c) return Unimplemented("C is not a constant");
    if (beta != 1.f) return Unimplemented("beta=", beta, " (only 1 is fused)");
    if (c->dtype() != DType::kFloat32 || c->num_elements() != N || c->rank() > 2 || (c->rank() == 2 && c->dim(0) != 1))
      return Unimplemented("C is ", c->type_string(), ", only a bias of ", N, " elements is fused");
    out.bias = *c;
  }
  return out;
}

Status linear_shape_rule(InferContext& c) {
  const ValueType &x = c.input(0), &w = c.input(1);
  if (!shape_rules::known(x) || !shape_rules::known(w) || x.dims.empty() || w.dims.size() != 2) {
    c.set_output_rank_unknown(0, DType::kFloat32);
    return Status::OK();
  }
  std::vector<Dim> out(x.dims.begin(), x.dims.end() - 1);
  out.push_back(w.dims[1]);
  c.set_output(0, DType::kFloat32, std::move(out));
  return Status::OK();
}

float linear_epilogue_reference(double v, const float* bias, LinearActivation act, const float* residual_row,
                                int64_t n) {
  if (bias) v += bias[n];
  v = apply_linear_activation(act, v);
  if (residual_row) v += residual_row[n];
  return static_cast<float>(v);
}

StatusOr<Shape> linear_output_shape(const Node& node, const Tensor& x, const Tensor& w, const Tensor* bias,
                                    const Tensor* residual) {
  if (w.rank() != 2 || x.rank() < 1 || x.shape().back() != w.dim(0))
    return InvalidArgument(node.describe(), ": X ", x.type_string(), " and W ", w.type_string(),
                           " do not multiply (X's last dim must be W's first)");
  const int64_t N = w.dim(1);
  if (bias && bias->num_elements() != N)
    return InvalidArgument(node.describe(), ": bias has ", bias->num_elements(), " elements, expected ", N);
  Shape out(x.shape().begin(), x.shape().end() - 1);
  out.push_back(N);
  if (residual && residual->shape() != out)
    return InvalidArgument(node.describe(), ": residual is ", residual->type_string(), ", expected the output's shape ",
                           shape_to_string(out));
  return out;
}

namespace {

Status linear_reference(KernelContext& ctx) {
  for (int i = 0; i < 4; ++i)
    if (ctx.input(i)) SPARSERT_RETURN_IF_ERROR(expect_input(ctx, i, {DType::kFloat32}));
  SPARSERT_ASSIGN_OR_RETURN(LinearActivation act, linear_activation(ctx.node()));
  const Tensor& x = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  const Tensor* residual = ctx.input(3);
  SPARSERT_ASSIGN_OR_RETURN(Shape out, linear_output_shape(ctx.node(), x, w, bias, residual));
  const int64_t K = w.dim(0), N = w.dim(1);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out));
  const int64_t M = K == 0 ? x.num_elements() : x.num_elements() / K;
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  float* py = y->data<float>();
  for (int64_t m = 0; m < M; ++m) {
    float* row = py + m * N;
    for (int64_t k = 0; k < K; ++k) {
      const float a = px[m * K + k];
      for (int64_t n = 0; n < N; ++n) row[n] += a * pw[k * N + n];
    }
    for (int64_t n = 0; n < N; ++n)
      row[n] = linear_epilogue_reference(row[n], bias ? bias->data<float>() : nullptr, act,
                                         residual ? residual->data<float>() + m * N : nullptr, n);
  }
  return Status::OK();
}

}  // namespace

void register_linear_ops(OpRegistry& r) {
  OpSchema s{kSparsertDomain, "Linear", 2, 4, 1, 1, linear_reference};
  s.infer = linear_shape_rule;
  r.add(std::move(s));
}

}  // namespace sparsert
