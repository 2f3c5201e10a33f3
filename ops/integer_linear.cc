// com.sparsert IntegerLinear (ops/linear.h): schema, shape rule and the
// reference kernel (exact int64 products, then the epilogue in double).
#include <cmath>

#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

Status integer_linear_reference(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kUInt8}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kInt8}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 2, {DType::kUInt8}));
  for (int i = 3; i < 7; ++i)
    if (ctx.input(i)) SPARSERT_RETURN_IF_ERROR(expect_input(ctx, i, {DType::kFloat32}));
  SPARSERT_ASSIGN_OR_RETURN(LinearActivation act, linear_activation(ctx.node()));
  const Tensor& x = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const Tensor* bias = ctx.input(5);
  const Tensor* residual = ctx.input(6);
  SPARSERT_ASSIGN_OR_RETURN(Shape out, linear_output_shape(ctx.node(), x, w, bias, residual));
  const int64_t K = w.dim(0), N = w.dim(1);
  const Tensor& zp = *ctx.input(2);
  const Tensor* x_scale = ctx.input(3);
  const Tensor* w_scale = ctx.input(4);
  if (zp.num_elements() != 1 || !x_scale || x_scale->num_elements() != 1 || !w_scale ||
      (w_scale->num_elements() != 1 && w_scale->num_elements() != N))
    return InvalidArgument(ctx.node().describe(), ": needs a scalar x_zero_point and x_scale and 1 or ", N,
                           " weight scales");
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out, OutputInit::kOverwritten));
  const int64_t M = K == 0 ? x.num_elements() : x.num_elements() / K;
  const uint8_t* px = x.data<uint8_t>();
  const int8_t* pw = w.data<int8_t>();
  const int32_t x_zp = zp.data<uint8_t>()[0];
  const float xs = x_scale->data<float>()[0];
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<int64_t>(px[m * K + k] - x_zp) * pw[k * N + n];
      // The dequantization scale is formed in float, as the unfused graph's Mul(x_scale, w_scale) does.
      const float scale = xs * w_scale->data<float>()[w_scale->num_elements() == 1 ? 0 : n];
      y->data<float>()[m * N + n] =
          linear_epilogue_reference(static_cast<float>(acc) * scale, bias ? bias->data<float>() : nullptr, act,
                                    residual ? residual->data<float>() + m * N : nullptr, n);
    }
  if (ctx.output_wanted(1)) {  // y's range for DynamicQuantizeLinear: min and max with 0, NaN ignored
    SPARSERT_ASSIGN_OR_RETURN(Tensor * range, ctx.allocate_output(1, DType::kFloat32, {2}));
    dynamic_quantize_range_reference(y->data<float>(), M * N, &range->data<float>()[0], &range->data<float>()[1]);
  }
  return Status::OK();
}

// Output 1 (optional): the range {lo, hi} of output 0.
Status integer_linear_shape_rule(InferContext& c) {
  SPARSERT_RETURN_IF_ERROR(linear_shape_rule(c));
  if (c.num_outputs() > 1) c.set_output(1, DType::kFloat32, {Dim::of(2)});
  return Status::OK();
}

}  // namespace

void register_integer_linear_ops(OpRegistry& r) {
  OpSchema s{kSparsertDomain, "IntegerLinear", 5, 7, 1, 2, integer_linear_reference};
  s.infer = integer_linear_shape_rule;
  r.add(std::move(s));
}

}  // namespace sparsert
