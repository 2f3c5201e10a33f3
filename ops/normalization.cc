// Softmax, LogSoftmax, LayerNormalization, BatchNormalization (inference form).
#include <cmath>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

// Softmax over `axis` (opset >= 13 semantics; for older opsets the input is
// flattened to 2-D at `axis` and normalized over everything after it).
KernelFn softmax_kernel(bool log) {
  return [log](KernelContext& ctx) -> Status {
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
    const Tensor& x = *ctx.input(0);
    const bool legacy = ctx.node().opset < 13;
    SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", legacy ? 1 : -1));
    SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, x.rank(), ctx.node()));
    int64_t outer = 1, dim = 1, inner = 1;
    for (int64_t d = 0; d < x.rank(); ++d) {
      int64_t s = x.dim(static_cast<int>(d));
      if (d < axis) outer *= s;
      else if (d == axis || legacy) dim *= s;
      else inner *= s;
    }
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
    const float* px = x.data<float>();
    float* py = y->data<float>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const float* src = px + o * dim * inner + i;
        float* dst = py + o * dim * inner + i;
        float mx = -INFINITY;
        for (int64_t k = 0; k < dim; ++k) mx = std::fmax(mx, src[k * inner]);
        double sum = 0;
        for (int64_t k = 0; k < dim; ++k) sum += std::exp(static_cast<double>(src[k * inner] - mx));
        for (int64_t k = 0; k < dim; ++k) {
          float z = src[k * inner] - mx;
          dst[k * inner] = log ? static_cast<float>(z - std::log(sum)) : static_cast<float>(std::exp(z) / sum);
        }
      }
    }
    return Status::OK();
  };
}

Status layer_norm_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  const Tensor& scale = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", -1));
  SPARSERT_ASSIGN_OR_RETURN(float eps, ctx.attrs().get_float("epsilon", 1e-5f));
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, x.rank(), ctx.node()));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < x.rank(); ++d) (d < axis ? outer : inner) *= x.dim(static_cast<int>(d));
  Shape norm_shape(x.shape().begin() + axis, x.shape().end());
  auto check = [&](const Tensor& t, const char* what) -> Status {
    auto b = broadcast_shapes(t.shape(), norm_shape);
    if (!b.ok() || *b != norm_shape || t.num_elements() != inner)
      return InvalidArgument(ctx.node().describe(), ": ", what, " ", t.type_string(), " must match normalized shape ",
                             shape_to_string(norm_shape));
    return Status::OK();
  };
  SPARSERT_RETURN_IF_ERROR(check(scale, "scale"));
  if (bias) SPARSERT_RETURN_IF_ERROR(check(*bias, "bias"));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
  Shape stat_shape = x.shape();
  for (int64_t d = axis; d < x.rank(); ++d) stat_shape[d] = 1;
  Tensor* mean_out = nullptr;
  Tensor* inv_std_out = nullptr;
  if (ctx.output_wanted(1)) { SPARSERT_ASSIGN_OR_RETURN(mean_out, ctx.allocate_output(1, DType::kFloat32, stat_shape, OutputInit::kOverwritten)); }
  if (ctx.output_wanted(2)) { SPARSERT_ASSIGN_OR_RETURN(inv_std_out, ctx.allocate_output(2, DType::kFloat32, stat_shape, OutputInit::kOverwritten)); }
  // Rows are independent: spread them over the session's threads.
  parallel_for(outer, std::max<int64_t>(1, 8192 / std::max<int64_t>(inner, 1)), [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const float* src = x.data<float>() + o * inner;
      float* dst = y->data<float>() + o * inner;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < inner; ++i) mean += src[i];
      mean /= static_cast<double>(inner);
      for (int64_t i = 0; i < inner; ++i) var += (src[i] - mean) * (src[i] - mean);
      var /= static_cast<double>(inner);
      const double inv_std = 1.0 / std::sqrt(var + eps);
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = static_cast<float>((src[i] - mean) * inv_std * scale.data<float>()[i] + (bias ? bias->data<float>()[i] : 0.f));
      if (mean_out) mean_out->data<float>()[o] = static_cast<float>(mean);
      if (inv_std_out) inv_std_out->data<float>()[o] = static_cast<float>(inv_std);
    }
  });
  return Status::OK();
}

Status batch_norm_kernel(KernelContext& ctx) {
  for (int i = 0; i < 5; ++i) SPARSERT_RETURN_IF_ERROR(expect_input(ctx, i, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  if (x.rank() < 2) return InvalidArgument(ctx.node().describe(), ": input must be at least 2-D (N,C,...)");
  SPARSERT_ASSIGN_OR_RETURN(float eps, ctx.attrs().get_float("epsilon", 1e-5f));
  SPARSERT_ASSIGN_OR_RETURN(int64_t training, ctx.attrs().get_int("training_mode", 0));
  if (training) return Unimplemented(ctx.node().describe(), ": training_mode=1");
  const int64_t N = x.dim(0), C = x.dim(1);
  for (int i = 1; i < 5; ++i)
    if (ctx.input(i)->num_elements() != C)
      return InvalidArgument(ctx.node().describe(), ": input ", i, " is ", ctx.input(i)->type_string(), ", expected ",
                             C, " channels");
  const int64_t spatial = C ? x.num_elements() / std::max<int64_t>(N * C, 1) : 0;
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
  const float *scale = ctx.input(1)->data<float>(), *bias = ctx.input(2)->data<float>();
  const float *mean = ctx.input(3)->data<float>(), *var = ctx.input(4)->data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const float a = scale[c] / std::sqrt(var[c] + eps);
      const float b = bias[c] - mean[c] * a;
      const float* src = x.data<float>() + (n * C + c) * spatial;
      float* dst = y->data<float>() + (n * C + c) * spatial;
      for (int64_t s = 0; s < spatial; ++s) dst[s] = src[s] * a + b;
    }
  return Status::OK();
}

}  // namespace

void register_normalization_ops(OpRegistry& r) {
  r.add({"", "Softmax", 1, 1, 1, 1, softmax_kernel(false)});
  r.add({"", "LogSoftmax", 1, 1, 1, 1, softmax_kernel(true)});
  r.add({"", "LayerNormalization", 2, 3, 1, 3, layer_norm_kernel});
  r.add({"", "BatchNormalization", 5, 5, 1, 1, batch_norm_kernel});
}

}  // namespace sparsert
