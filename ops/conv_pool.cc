// Conv (grouped, dilated, 1-D/2-D), MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
// Window geometry and the direct convolution loop live in ops/conv_window.h.
#include <cmath>
#include <limits>

#include "ops/conv_window.h"
#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

Status conv_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  const Tensor& wt = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  SPARSERT_ASSIGN_OR_RETURN(ConvGeometry g, conv_geometry(ctx.node(), x.shape(), wt.shape()));
  if (bias && bias->num_elements() != g.M)
    return InvalidArgument(ctx.node().describe(), ": bias ", bias->type_string(), " must have ", g.M, " elements");
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, g.out_shape));
  const int64_t in_plane = g.w.ih * g.w.iw, out_plane = g.w.oh * g.w.ow, kplane = g.w.kh * g.w.kw, cg = g.C / g.group;
  const float* px = x.data<float>();
  const float* pw = wt.data<float>();
  float* py = y->data<float>();
  conv_direct<double>(
      g, [&](int64_t m) { return bias ? static_cast<double>(bias->data<float>()[m]) : 0.0; },
      [&](int64_t n, int64_t c, int64_t i) { return px[(n * g.C + c) * in_plane + i]; },
      [&](int64_t m, int64_t c, int64_t k) { return pw[(m * cg + c) * kplane + k]; },
      [&](int64_t n, int64_t m, int64_t o, double acc) { py[(n * g.M + m) * out_plane + o] = static_cast<float>(acc); });
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
    SPARSERT_ASSIGN_OR_RETURN(Window w, make_window(ctx.node(), x.shape(), kernel, ceil_mode != 0));
    const int64_t N = x.dim(0), C = x.dim(1);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, window_output_shape(x.shape(), C, w)));
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
