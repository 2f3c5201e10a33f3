// Conv (grouped, dilated, 1-D/2-D), MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
// 1-D inputs are handled as 2-D with height 1.
#include <cmath>
#include <limits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // top, left, bottom, right
  int64_t ih = 1, iw = 1, oh = 1, ow = 1;
};

// Reads kernel/stride/dilation/pad attributes for 1-D or 2-D windows and the output size.
StatusOr<Window> make_window(const KernelContext& ctx, const Shape& x, std::vector<int64_t> kernel, bool ceil_mode) {
  const Node& node = ctx.node();
  const size_t nsp = x.size() - 2;
  if (nsp < 1 || nsp > 2)
    return Unimplemented(node.describe(), ": only 1-D and 2-D spatial inputs are supported, got ", shape_to_string(x));
  if (kernel.size() != nsp)
    return InvalidArgument(node.describe(), ": kernel_shape ", shape_to_string(kernel), " does not match input ",
                           shape_to_string(x));
  SPARSERT_ASSIGN_OR_RETURN(auto strides, ctx.attrs().get_ints("strides", std::vector<int64_t>(nsp, 1)));
  SPARSERT_ASSIGN_OR_RETURN(auto dil, ctx.attrs().get_ints("dilations", std::vector<int64_t>(nsp, 1)));
  SPARSERT_ASSIGN_OR_RETURN(auto pads, ctx.attrs().get_ints("pads", std::vector<int64_t>(2 * nsp, 0)));
  SPARSERT_ASSIGN_OR_RETURN(std::string auto_pad, ctx.attrs().get_string("auto_pad", "NOTSET"));
  if (strides.size() != nsp || dil.size() != nsp || pads.size() != 2 * nsp)
    return InvalidArgument(node.describe(), ": strides/dilations/pads do not match ", nsp, " spatial dims");
  std::vector<int64_t> in(x.begin() + 2, x.end()), out(nsp);
  for (size_t i = 0; i < nsp; ++i) {
    if (kernel[i] <= 0 || strides[i] <= 0 || dil[i] <= 0 || pads[i] < 0 || pads[i + nsp] < 0)
      return InvalidArgument(node.describe(), ": kernel, strides and dilations must be positive and pads >= 0");
    const int64_t ext = dil[i] * (kernel[i] - 1) + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out[i] = (in[i] + strides[i] - 1) / strides[i];
      int64_t total = std::max<int64_t>(0, (out[i] - 1) * strides[i] + ext - in[i]);
      int64_t small = total / 2, big = total - small;
      pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      pads[i + nsp] = auto_pad == "SAME_UPPER" ? big : small;
    } else {
      if (auto_pad == "VALID") pads[i] = pads[i + nsp] = 0;
      else if (auto_pad != "NOTSET")
        return InvalidArgument(node.describe(), ": unknown auto_pad '", auto_pad, "'");
      int64_t span = in[i] + pads[i] + pads[i + nsp] - ext;
      if (span < 0)
        return InvalidArgument(node.describe(), ": window ", ext, " is larger than padded input ", shape_to_string(x));
      out[i] = (ceil_mode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
      // A window that would start entirely in the end padding is dropped (ceil_mode rule).
      if (ceil_mode && (out[i] - 1) * strides[i] >= in[i] + pads[i]) --out[i];
    }
  }
  Window w;
  const size_t h = nsp == 2 ? 0 : SIZE_MAX, wd = nsp - 1;
  w.kw = kernel[wd]; w.sw = strides[wd]; w.dw = dil[wd]; w.pl = pads[wd]; w.pr = pads[wd + nsp];
  w.iw = in[wd]; w.ow = out[wd];
  if (h == 0) {
    w.kh = kernel[0]; w.sh = strides[0]; w.dh = dil[0]; w.pt = pads[0]; w.pb = pads[nsp];
    w.ih = in[0]; w.oh = out[0];
  }
  return w;
}

Shape output_shape(const Shape& x, int64_t channels, const Window& w) {
  Shape s = {x[0], channels};
  if (x.size() == 4) s.push_back(w.oh);
  s.push_back(w.ow);
  return s;
}

Status conv_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  const Tensor& wt = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  if (x.rank() < 3 || wt.rank() != x.rank())
    return InvalidArgument(ctx.node().describe(), ": input ", x.type_string(), " and weight ", wt.type_string(),
                           " ranks do not match");
  SPARSERT_ASSIGN_OR_RETURN(int64_t group, ctx.attrs().get_int("group", 1));
  const int64_t N = x.dim(0), C = x.dim(1), M = wt.dim(0);
  if (group <= 0 || C % group != 0 || M % group != 0 || wt.dim(1) != C / group)
    return InvalidArgument(ctx.node().describe(), ": weight ", wt.type_string(), " does not fit input ",
                           x.type_string(), " with group=", group);
  std::vector<int64_t> kernel(wt.shape().begin() + 2, wt.shape().end());
  SPARSERT_ASSIGN_OR_RETURN(kernel, ctx.attrs().get_ints("kernel_shape", kernel));
  SPARSERT_ASSIGN_OR_RETURN(Window w, make_window(ctx, x.shape(), kernel, false));
  if (bias && bias->num_elements() != M)
    return InvalidArgument(ctx.node().describe(), ": bias ", bias->type_string(), " must have ", M, " elements");
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, output_shape(x.shape(), M, w)));
  const int64_t cg = C / group, mg = M / group;
  const float* px = x.data<float>();
  const float* pw = wt.data<float>();
  float* py = y->data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t g = m / mg;
      float* out = py + (n * M + m) * w.oh * w.ow;
      for (int64_t oy = 0; oy < w.oh; ++oy)
        for (int64_t ox = 0; ox < w.ow; ++ox) {
          double acc = bias ? bias->data<float>()[m] : 0.0;
          for (int64_t c = 0; c < cg; ++c) {
            const float* in = px + (n * C + g * cg + c) * w.ih * w.iw;
            const float* k = pw + (m * cg + c) * w.kh * w.kw;
            for (int64_t ky = 0; ky < w.kh; ++ky) {
              const int64_t iy = oy * w.sh - w.pt + ky * w.dh;
              if (iy < 0 || iy >= w.ih) continue;
              for (int64_t kx = 0; kx < w.kw; ++kx) {
                const int64_t ix = ox * w.sw - w.pl + kx * w.dw;
                if (ix < 0 || ix >= w.iw) continue;
                acc += static_cast<double>(in[iy * w.iw + ix]) * k[ky * w.kw + kx];
              }
            }
          }
          out[oy * w.ow + ox] = static_cast<float>(acc);
        }
    }
  return Status::OK();
}

KernelFn pool_kernel(bool is_max) {
  return [is_max](KernelContext& ctx) -> Status {
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
    const Tensor& x = *ctx.input(0);
    if (x.rank() < 3) return InvalidArgument(ctx.node().describe(), ": input must be N,C,spatial; got ", x.type_string());
    if (ctx.num_outputs() > 1) return Unimplemented(ctx.node().describe(), ": MaxPool Indices output");
    SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, ctx.attrs().get_ints("kernel_shape"));
    SPARSERT_ASSIGN_OR_RETURN(int64_t ceil_mode, ctx.attrs().get_int("ceil_mode", 0));
    SPARSERT_ASSIGN_OR_RETURN(int64_t include_pad, ctx.attrs().get_int("count_include_pad", 0));
    SPARSERT_ASSIGN_OR_RETURN(Window w, make_window(ctx, x.shape(), kernel, ceil_mode != 0));
    const int64_t N = x.dim(0), C = x.dim(1);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, output_shape(x.shape(), C, w)));
    for (int64_t nc = 0; nc < N * C; ++nc) {
      const float* in = x.data<float>() + nc * w.ih * w.iw;
      float* out = y->data<float>() + nc * w.oh * w.ow;
      for (int64_t oy = 0; oy < w.oh; ++oy)
        for (int64_t ox = 0; ox < w.ow; ++ox) {
          double acc = is_max ? -INFINITY : 0.0;
          int64_t count = 0, padded_count = 0;
          for (int64_t ky = 0; ky < w.kh; ++ky) {
            const int64_t iy = oy * w.sh - w.pt + ky * w.dh;
            for (int64_t kx = 0; kx < w.kw; ++kx) {
              const int64_t ix = ox * w.sw - w.pl + kx * w.dw;
              // count_include_pad counts explicit padding, not positions past it (ceil_mode overhang).
              if (iy < w.ih + w.pb && ix < w.iw + w.pr) ++padded_count;
              if (iy < 0 || iy >= w.ih || ix < 0 || ix >= w.iw) continue;
              const float v = in[iy * w.iw + ix];
              acc = is_max ? std::fmax(acc, v) : acc + v;
              ++count;
            }
          }
          if (!is_max) acc /= std::max<int64_t>(1, include_pad ? padded_count : count);
          out[oy * w.ow + ox] = static_cast<float>(acc);
        }
    }
    return Status::OK();
  };
}

KernelFn global_pool_kernel(bool is_max) {
  return [is_max](KernelContext& ctx) -> Status {
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
    const Tensor& x = *ctx.input(0);
    if (x.rank() < 3) return InvalidArgument(ctx.node().describe(), ": input must be N,C,spatial; got ", x.type_string());
    Shape out = {x.dim(0), x.dim(1)};
    int64_t spatial = 1;
    for (int d = 2; d < x.rank(); ++d) { out.push_back(1); spatial *= x.dim(d); }
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out));
    for (int64_t nc = 0; nc < x.dim(0) * x.dim(1); ++nc) {
      const float* in = x.data<float>() + nc * spatial;
      double acc = is_max ? -INFINITY : 0.0;
      for (int64_t s = 0; s < spatial; ++s) acc = is_max ? std::fmax(acc, in[s]) : acc + in[s];
      y->data<float>()[nc] = static_cast<float>(is_max ? acc : acc / std::max<int64_t>(spatial, 1));
    }
    return Status::OK();
  };
}

}  // namespace

void register_conv_pool_ops(OpRegistry& r) {
  r.add({"", "Conv", 2, 3, 1, 1, conv_kernel});
  r.add({"", "MaxPool", 1, 1, 1, 2, pool_kernel(true)});
  r.add({"", "AveragePool", 1, 1, 1, 1, pool_kernel(false)});
  r.add({"", "GlobalAveragePool", 1, 1, 1, 1, global_pool_kernel(false)});
  r.add({"", "GlobalMaxPool", 1, 1, 1, 1, global_pool_kernel(true)});
}

}  // namespace sparsert
