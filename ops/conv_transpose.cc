// ConvTranspose (1-D and 2-D, groups, dilation, output_padding, output_shape,
// auto_pad). The geometry (conv_transpose_attrs/extent, declared in
// ops/conv_window.h) is shared with the shape rule; checked against ONNX
// Runtime in tests/models/op_graphs.py.
#include <vector>

#include "ops/conv_window.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

struct TransposeAxis {
  int64_t in = 1, out = 1, k = 1, stride = 1, dil = 1, pad_begin = 0;
};

Status conv_transpose_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Node& node = ctx.node();
  const Tensor& x = *ctx.input(0);
  const Tensor& wt = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  if (x.rank() < 3 || x.rank() > 4 || wt.rank() != x.rank())
    return InvalidArgument(node.describe(), ": expected 1-D or 2-D input and weight of equal rank, got ", x.type_string(),
                           " and ", wt.type_string());
  const size_t nsp = static_cast<size_t>(x.rank() - 2);
  SPARSERT_ASSIGN_OR_RETURN(int64_t group, node.attrs.get_int("group", 1));
  const int64_t N = x.dim(0), C = x.dim(1);
  if (group <= 0 || C % group != 0 || wt.dim(0) != C)
    return InvalidArgument(node.describe(), ": weight ", wt.type_string(), " does not fit input ", x.type_string(),
                           " with group=", group);
  const int64_t mg = wt.dim(1), M = mg * group, cg = C / group;
  if (bias && bias->num_elements() != M)
    return InvalidArgument(node.describe(), ": bias ", bias->type_string(), " must have ", M, " elements");
  SPARSERT_ASSIGN_OR_RETURN(ConvTransposeAttrs attrs, conv_transpose_attrs(node, nsp));
  std::vector<TransposeAxis> ax(2);  // [0] height (1 for 1-D), [1] width
  for (size_t i = 0; i < nsp; ++i) {
    TransposeAxis& a = ax[2 - nsp + i];
    a.in = x.dim(static_cast<int>(2 + i));
    a.k = wt.dim(static_cast<int>(2 + i));
    a.stride = attrs.strides[i];
    a.dil = attrs.dilations[i];
    if (a.k <= 0) return InvalidArgument(node.describe(), ": kernel dims must be positive, got ", wt.type_string());
    const TransposeExtent e = conv_transpose_extent(attrs, i, a.in, a.k);
    a.pad_begin = e.pad_begin;
    a.out = e.out;
    if (a.out < 0) return InvalidArgument(node.describe(), ": padding exceeds the output size");
  }
  Shape out = {N, M};
  for (size_t i = 0; i < nsp; ++i) out.push_back(ax[2 - nsp + i].out);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out));
  const TransposeAxis &H = ax[0], &W = ax[1];
  const int64_t out_plane = H.out * W.out, in_plane = H.in * W.in, kplane = H.k * W.k;
  std::vector<double> acc(static_cast<size_t>(out_plane));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < group; ++g)
      for (int64_t m = 0; m < mg; ++m) {
        const int64_t oc = g * mg + m;
        std::fill(acc.begin(), acc.end(), bias ? static_cast<double>(bias->data<float>()[oc]) : 0.0);
        for (int64_t c = 0; c < cg; ++c) {
          const int64_t ic = g * cg + c;
          const float* in = x.data<float>() + (n * C + ic) * in_plane;
          const float* k = wt.data<float>() + (ic * mg + m) * kplane;
          // Each input pixel scatters its kernel-weighted value into the output.
          for (int64_t iy = 0; iy < H.in; ++iy)
            for (int64_t ix = 0; ix < W.in; ++ix)
              for (int64_t ky = 0; ky < H.k; ++ky) {
                const int64_t oy = iy * H.stride - H.pad_begin + ky * H.dil;
                if (oy < 0 || oy >= H.out) continue;
                for (int64_t kx = 0; kx < W.k; ++kx) {
                  const int64_t ox = ix * W.stride - W.pad_begin + kx * W.dil;
                  if (ox < 0 || ox >= W.out) continue;
                  acc[static_cast<size_t>(oy * W.out + ox)] +=
                      static_cast<double>(in[iy * W.in + ix]) * k[ky * W.k + kx];
                }
              }
        }
        float* dst = y->data<float>() + (n * M + oc) * out_plane;
        for (int64_t i = 0; i < out_plane; ++i) dst[i] = static_cast<float>(acc[static_cast<size_t>(i)]);
      }
  return Status::OK();
}

}  // namespace

StatusOr<ConvTransposeAttrs> conv_transpose_attrs(const Node& node, size_t nsp) {
  ConvTransposeAttrs a;
  SPARSERT_ASSIGN_OR_RETURN(a.strides, node.attrs.get_ints("strides", std::vector<int64_t>(nsp, 1)));
  SPARSERT_ASSIGN_OR_RETURN(a.dilations, node.attrs.get_ints("dilations", std::vector<int64_t>(nsp, 1)));
  SPARSERT_ASSIGN_OR_RETURN(a.pads, node.attrs.get_ints("pads", std::vector<int64_t>(2 * nsp, 0)));
  SPARSERT_ASSIGN_OR_RETURN(a.output_padding, node.attrs.get_ints("output_padding", std::vector<int64_t>(nsp, 0)));
  SPARSERT_ASSIGN_OR_RETURN(a.output_shape, node.attrs.get_ints("output_shape", std::vector<int64_t>{}));
  SPARSERT_ASSIGN_OR_RETURN(a.auto_pad, node.attrs.get_string("auto_pad", "NOTSET"));
  if (a.output_shape.size() == nsp + 2) a.output_shape.erase(a.output_shape.begin(), a.output_shape.begin() + 2);
  if (a.strides.size() != nsp || a.dilations.size() != nsp || a.pads.size() != 2 * nsp ||
      a.output_padding.size() != nsp || (!a.output_shape.empty() && a.output_shape.size() != nsp))
    return InvalidArgument(node.describe(), ": strides/dilations/pads/output_padding/output_shape do not match ", nsp,
                           " spatial dims");
  if (a.auto_pad != "NOTSET" && a.auto_pad != "VALID" && a.auto_pad != "SAME_UPPER" && a.auto_pad != "SAME_LOWER")
    return InvalidArgument(node.describe(), ": unknown auto_pad '", a.auto_pad, "'");
  for (size_t i = 0; i < nsp; ++i)
    if (a.strides[i] <= 0 || a.dilations[i] <= 0 || a.output_padding[i] < 0 || a.pads[i] < 0 || a.pads[i + nsp] < 0)
      return InvalidArgument(node.describe(), ": kernel, strides and dilations must be positive, pads >= 0");
  return a;
}

TransposeExtent conv_transpose_extent(const ConvTransposeAttrs& a, size_t i, int64_t in, int64_t k) {
  const size_t nsp = a.strides.size();
  // The output with no padding.
  const int64_t full = (in - 1) * a.strides[i] + a.output_padding[i] + (k - 1) * a.dilations[i] + 1;
  int64_t head = a.pads[i], tail = a.pads[i + nsp];
  if (!a.output_shape.empty()) {
    const int64_t total = std::max<int64_t>(0, full - a.output_shape[i]);
    head = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    tail = total - head;
  } else if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
    const int64_t total = std::max<int64_t>(0, full - in * a.strides[i]);
    head = a.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    tail = total - head;
  } else if (a.auto_pad == "VALID") {
    head = tail = 0;
  }
  return {a.output_shape.empty() ? full - head - tail : a.output_shape[i], head};
}

void register_conv_transpose_ops(OpRegistry& r) { r.add({"", "ConvTranspose", 2, 3, 1, 1, conv_transpose_kernel}); }

}  // namespace sparsert
