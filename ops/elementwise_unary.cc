// Unary element-wise ops: activations and math functions, Clip, Cast, Identity/Dropout, Not.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using FloatFn = float (*)(float, float alpha, float beta);

struct UnaryDef {
  const char* name;
  const char* domain;
  FloatFn fn;
  float default_alpha;
  float default_beta;
};

float relu(float x, float, float) { return x > 0.f ? x : 0.f; }
float sigmoid(float x, float, float) { return 1.f / (1.f + std::exp(-x)); }
float tanh_(float x, float, float) { return std::tanh(x); }
float exp_(float x, float, float) { return std::exp(x); }
float log_(float x, float, float) { return std::log(x); }
float sqrt_(float x, float, float) { return std::sqrt(x); }
float erf_(float x, float, float) { return std::erf(x); }
float reciprocal(float x, float, float) { return 1.f / x; }
float floor_(float x, float, float) { return std::floor(x); }
float ceil_(float x, float, float) { return std::ceil(x); }
float round_(float x, float, float) { return std::nearbyint(x); }  // ties to even (default rounding mode)
float sin_(float x, float, float) { return std::sin(x); }
float cos_(float x, float, float) { return std::cos(x); }
float softplus(float x, float, float) { return x > 20.f ? x : std::log1p(std::exp(x)); }
float softsign(float x, float, float) { return x / (1.f + std::fabs(x)); }
float leaky_relu(float x, float alpha, float) { return x >= 0.f ? x : alpha * x; }
float elu(float x, float alpha, float) { return x >= 0.f ? x : alpha * (std::exp(x) - 1.f); }
float selu(float x, float alpha, float gamma) { return gamma * (x > 0.f ? x : alpha * (std::exp(x) - 1.f)); }
float hard_sigmoid(float x, float alpha, float beta) { return std::fmax(0.f, std::fmin(1.f, alpha * x + beta)); }
float hard_swish(float x, float, float) { return x * std::fmax(0.f, std::fmin(1.f, x / 6.f + 0.5f)); }
float gelu_erf(float x, float, float) { return 0.5f * x * (1.f + std::erf(x * static_cast<float>(M_SQRT1_2))); }
float gelu_tanh(float x, float, float) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

Status float_unary(KernelContext& ctx, FloatFn fn, float alpha, float beta) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape(), OutputInit::kOverwritten));
  const float* px = x.data<float>();
  float* py = y->data<float>();
  for (int64_t i = 0, n = x.num_elements(); i < n; ++i) py[i] = fn(px[i], alpha, beta);
  return Status::OK();
}

KernelFn unary_kernel(const UnaryDef& d) {
  return [d](KernelContext& ctx) -> Status {
    SPARSERT_ASSIGN_OR_RETURN(float alpha, ctx.attrs().get_float("alpha", d.default_alpha));
    float beta_default = d.default_beta;
    SPARSERT_ASSIGN_OR_RETURN(float beta, ctx.attrs().get_float(d.fn == selu ? "gamma" : "beta", beta_default));
    FloatFn fn = d.fn;
    if (fn == gelu_erf) {  // ONNX Gelu-20: approximate = "none" | "tanh"
      SPARSERT_ASSIGN_OR_RETURN(std::string approx, ctx.attrs().get_string("approximate", "none"));
      if (approx == "tanh") fn = gelu_tanh;
      else if (approx != "none")
        return InvalidArgument(ctx.node().describe(), ": approximate must be 'none' or 'tanh', got '", approx, "'");
    }
    return float_unary(ctx, fn, alpha, beta);
  };
}

// Neg, Abs and Sign are defined on signed integers too.
template <typename F>
KernelFn signed_unary(F f) {
  return [f](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape(), OutputInit::kOverwritten));
    return dispatch_numeric(x.dtype(), ctx.node(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_same_v<T, bool>) {
        return Unimplemented(ctx.node().describe(), ": bool input");
      } else {
        const T* px = x.data<T>();
        T* py = y->data<T>();
        for (int64_t i = 0, n = x.num_elements(); i < n; ++i) py[i] = f(px[i]);
        return Status::OK();
      }
    });
  };
}

Status clip_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape(), OutputInit::kOverwritten));
  return dispatch_numeric(x.dtype(), ctx.node(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      return Unimplemented(ctx.node().describe(), ": bool input");
    } else {
      T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
      for (int k : {1, 2}) {
        const Tensor* b = ctx.input(k);
        if (!b) continue;
        if (b->dtype() != x.dtype() || b->num_elements() != 1)
          return InvalidArgument(ctx.node().describe(), ": ", k == 1 ? "min" : "max", " must be a scalar of type ",
                                 dtype_name(x.dtype()), ", got ", b->type_string());
        (k == 1 ? lo : hi) = b->data<T>()[0];
      }
      const T* px = x.data<T>();
      T* py = y->data<T>();
      for (int64_t i = 0, n = x.num_elements(); i < n; ++i) py[i] = px[i] < lo ? lo : (px[i] > hi ? hi : px[i]);
      return Status::OK();
    }
  });
}

template <typename From, typename To>
To cast_value(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    // Out-of-range and NaN float->int is UB in C++; saturate like most runtimes do in practice.
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

Status cast_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t to_raw, ctx.attrs().get_int("to"));
  DType to = dtype_from_onnx(static_cast<int32_t>(to_raw));
  if (to == x.dtype()) return ctx.set_output(0, x);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, to, x.shape(), OutputInit::kOverwritten));
  return dispatch_numeric(x.dtype(), ctx.node(), [&](auto from_tag) -> Status {
    using From = typename decltype(from_tag)::type;
    return dispatch_numeric(to, ctx.node(), [&](auto to_tag) -> Status {
      using To = typename decltype(to_tag)::type;
      const From* px = x.data<From>();
      To* py = y->data<To>();
      for (int64_t i = 0, n = x.num_elements(); i < n; ++i) py[i] = cast_value<From, To>(px[i]);
      return Status::OK();
    });
  });
}

Status identity_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(ctx.set_output(0, *ctx.input(0)));
  if (ctx.output_wanted(1)) {  // Dropout's mask: all true at inference
    SPARSERT_ASSIGN_OR_RETURN(Tensor * mask, ctx.allocate_output(1, DType::kBool, ctx.input(0)->shape(), OutputInit::kOverwritten));
    std::fill_n(mask->data<bool>(), mask->num_elements(), true);
  }
  return Status::OK();
}

Status not_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kBool}));
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kBool, x.shape(), OutputInit::kOverwritten));
  for (int64_t i = 0, n = x.num_elements(); i < n; ++i) y->data<bool>()[i] = !x.data<bool>()[i];
  return Status::OK();
}

}  // namespace

void register_elementwise_unary_ops(OpRegistry& r) {
  const UnaryDef defs[] = {
      {"Relu", "", relu, 0, 0},
      {"Sigmoid", "", sigmoid, 0, 0},
      {"Tanh", "", tanh_, 0, 0},
      {"Exp", "", exp_, 0, 0},
      {"Log", "", log_, 0, 0},
      {"Sqrt", "", sqrt_, 0, 0},
      {"Erf", "", erf_, 0, 0},
      {"Reciprocal", "", reciprocal, 0, 0},
      {"Floor", "", floor_, 0, 0},
      {"Ceil", "", ceil_, 0, 0},
      {"Round", "", round_, 0, 0},
      {"Sin", "", sin_, 0, 0},
      {"Cos", "", cos_, 0, 0},
      {"Softplus", "", softplus, 0, 0},
      {"Softsign", "", softsign, 0, 0},
      {"LeakyRelu", "", leaky_relu, 0.01f, 0},
      {"Elu", "", elu, 1.0f, 0},
      {"Selu", "", selu, 1.67326319217681884765625f, 1.05070102214813232421875f},
      {"HardSigmoid", "", hard_sigmoid, 0.2f, 0.5f},
      {"HardSwish", "", hard_swish, 0, 0},
      {"Gelu", "", gelu_erf, 0, 0},
      {"Gelu", "com.microsoft", gelu_erf, 0, 0},
      {"FastGelu", "com.microsoft", gelu_tanh, 0, 0},
  };
  for (const UnaryDef& d : defs) r.add({d.domain, d.name, 1, 1, 1, 1, unary_kernel(d)});  // FastGelu's bias input is not supported yet
  r.add({"", "Neg", 1, 1, 1, 1, signed_unary([](auto v) { return static_cast<decltype(v)>(-v); })});
  r.add({"", "Abs", 1, 1, 1, 1, signed_unary([](auto v) { return static_cast<decltype(v)>(v < 0 ? -v : v); })});
  r.add({"", "Sign", 1, 1, 1, 1, signed_unary([](auto v) { return static_cast<decltype(v)>((v > 0) - (v < 0)); })});
  r.add({"", "Clip", 1, 3, 1, 1, clip_kernel});
  r.add({"", "Cast", 1, 1, 1, 1, cast_kernel});
  r.add({"", "Identity", 1, 1, 1, 1, identity_kernel});
  r.add({"", "Dropout", 1, 3, 1, 2, identity_kernel});
  r.add({"", "Not", 1, 1, 1, 1, not_kernel});
}

}  // namespace sparsert
