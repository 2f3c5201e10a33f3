// ConvInteger and QLinearConv (what ORT's quantizer writes for Conv): the
// shared direct convolution over zero-point-shifted integers, int32 accumulation,
// then (QLinearConv) bias and ONNX Runtime's requantization.
#include "ops/conv_window.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

// Zero point of a per-tensor or per-output-channel parameter.
StatusOr<std::vector<int32_t>> channel_values(const KernelContext& ctx, const Tensor* t, int64_t channels,
                                              const char* what) {
  std::vector<int32_t> v(static_cast<size_t>(channels), 0);
  if (!t) return v;
  if (t->num_elements() != 1 && t->num_elements() != channels)
    return InvalidArgument(ctx.node().describe(), ": ", what, " ", t->type_string(), " must be a scalar or have ",
                           channels, " values");
  for (int64_t m = 0; m < channels; ++m)
    v[static_cast<size_t>(m)] = static_cast<int32_t>(t->element_as_int64(t->num_elements() == 1 ? 0 : m));
  return v;
}

// acc[n][m][o] = sum (x - x_zp) * (w - w_zp[m]) (+ bias[m]).
struct IntConv {
  ConvGeometry g;
  std::vector<int32_t> acc;
};

StatusOr<IntConv> int_conv(const KernelContext& ctx, const Tensor& x, const Tensor* x_zp, const Tensor& w,
                           const Tensor* w_zp, const Tensor* bias) {
  for (const Tensor* t : {&x, &w})
    if (t->dtype() != DType::kUInt8 && t->dtype() != DType::kInt8)
      return InvalidArgument(ctx.node().describe(), ": expected uint8 or int8 operands, got ", t->type_string());
  IntConv r;
  SPARSERT_ASSIGN_OR_RETURN(r.g, conv_geometry(ctx.node(), x.shape(), w.shape()));
  const ConvGeometry& g = r.g;
  if (x_zp && x_zp->num_elements() != 1)
    return InvalidArgument(ctx.node().describe(), ": x zero point ", x_zp->type_string(), " must be a scalar");
  const int32_t xz = x_zp ? static_cast<int32_t>(x_zp->element_as_int64(0)) : 0;
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int32_t> wz, channel_values(ctx, w_zp, g.M, "w zero point"));
  std::vector<int32_t> b(static_cast<size_t>(g.M), 0);
  if (bias) {
    if (bias->dtype() != DType::kInt32 || bias->num_elements() != g.M)
      return InvalidArgument(ctx.node().describe(), ": bias ", bias->type_string(), " must be int32 with ", g.M, " values");
    for (int64_t m = 0; m < g.M; ++m) b[static_cast<size_t>(m)] = bias->data<int32_t>()[m];
  }
  SPARSERT_ASSIGN_OR_RETURN(int64_t total, checked_num_elements(g.out_shape));
  r.acc.assign(static_cast<size_t>(total), 0);
  const int64_t in_plane = g.w.ih * g.w.iw, out_plane = g.w.oh * g.w.ow, kplane = g.w.kh * g.w.kw, cg = g.C / g.group;
  auto value = [](const Tensor& t, int64_t i) -> int32_t {
    return t.dtype() == DType::kUInt8 ? t.data<uint8_t>()[i] : t.data<int8_t>()[i];
  };
  conv_direct<int32_t>(
      g, [&](int64_t m) { return b[static_cast<size_t>(m)]; },
      [&](int64_t n, int64_t c, int64_t i) { return value(x, (n * g.C + c) * in_plane + i) - xz; },
      [&](int64_t m, int64_t c, int64_t k) { return value(w, (m * cg + c) * kplane + k) - wz[static_cast<size_t>(m)]; },
      [&](int64_t n, int64_t m, int64_t o, int32_t acc) { r.acc[static_cast<size_t>((n * g.M + m) * out_plane + o)] = acc; });
  return r;
}

Status conv_integer(KernelContext& ctx) {
  SPARSERT_ASSIGN_OR_RETURN(IntConv r, int_conv(ctx, *ctx.input(0), ctx.input(2), *ctx.input(1), ctx.input(3), nullptr));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt32, r.g.out_shape));
  std::copy(r.acc.begin(), r.acc.end(), y->data<int32_t>());
  return Status::OK();
}

Status qlinear_conv(KernelContext& ctx) {
  // x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B
  const Tensor &x_scale = *ctx.input(1), &w_scale = *ctx.input(4), &y_scale = *ctx.input(6);
  const Tensor* y_zp = ctx.input(7);
  for (int i : {1, 4, 6}) SPARSERT_RETURN_IF_ERROR(expect_input(ctx, i, {DType::kFloat32}));
  SPARSERT_ASSIGN_OR_RETURN(IntConv r, int_conv(ctx, *ctx.input(0), ctx.input(2), *ctx.input(3), ctx.input(5), ctx.input(8)));
  if (x_scale.num_elements() != 1 || y_scale.num_elements() != 1)
    return InvalidArgument(ctx.node().describe(), ": x_scale and y_scale must be scalars");
  if (w_scale.num_elements() != 1 && w_scale.num_elements() != r.g.M)
    return InvalidArgument(ctx.node().describe(), ": w_scale ", w_scale.type_string(), " must be a scalar or have ",
                           r.g.M, " values");
  if (y_zp && y_zp->num_elements() != 1)
    return InvalidArgument(ctx.node().describe(), ": y zero point ", y_zp->type_string(), " must be a scalar");
  const DType out = y_zp ? y_zp->dtype() : DType::kUInt8;
  if (out != DType::kUInt8 && out != DType::kInt8)
    return InvalidArgument(ctx.node().describe(), ": y zero point must be uint8 or int8, got ", dtype_name(out));
  const double z = y_zp ? y_zp->element_as_double(0) : 0.0;
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out, r.g.out_shape));
  const int64_t plane = r.g.w.oh * r.g.w.ow;
  for (size_t i = 0; i < r.acc.size(); ++i) {
    const int64_t m = (static_cast<int64_t>(i) / plane) % r.g.M;
    const float mult = requant_multiplier(x_scale.data<float>()[0],
                                          w_scale.data<float>()[w_scale.num_elements() == 1 ? 0 : m],
                                          y_scale.data<float>()[0]);
    if (out == DType::kUInt8) y->data<uint8_t>()[i] = requantize<uint8_t>(r.acc[i], mult, z);
    else y->data<int8_t>()[i] = requantize<int8_t>(r.acc[i], mult, z);
  }
  return Status::OK();
}

}  // namespace

void register_quantized_conv_ops(OpRegistry& r) {
  r.add({"", "ConvInteger", 2, 4, 1, 1, conv_integer});
  r.add({"", "QLinearConv", 8, 9, 1, 1, qlinear_conv});
}

}  // namespace sparsert
