// com.sparsert ReorderToNchwc, ReorderFromNchwc, NchwcConv and NchwcMaxPool (ops/nchwc.h):
// schemas, shape rules and the reference kernels (direct convolution in double,
// read and written through the blocked index).
#include "ops/nchwc.h"

#include <algorithm>
#include <cmath>

#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"
#include "ops/shape_rules_util.h"

namespace sparsert {

Shape nchwc_shape(const Shape& logical, int64_t block) {
  return {logical[0], nchwc_blocks(logical[1], block), logical[2], logical[3], block};
}

StatusOr<NchwcConvParams> nchwc_conv_params(const Node& node) {
  NchwcConvParams p;
  SPARSERT_ASSIGN_OR_RETURN(p.block, node.attrs.get_int("block"));
  if (p.block <= 0 || p.block > 64) return InvalidArgument(node.describe(), ": block ", p.block, " is not in [1, 64]");
  SPARSERT_ASSIGN_OR_RETURN(std::string act, node.attrs.get_string("activation", "none"));
  if (act == "relu") {
    p.act = ConvActivation::kRelu;
  } else if (act == "clip") {
    p.act = ConvActivation::kClip;
    SPARSERT_ASSIGN_OR_RETURN(p.act_min, node.attrs.get_float("activation_min"));
    SPARSERT_ASSIGN_OR_RETURN(p.act_max, node.attrs.get_float("activation_max"));
  } else if (act != "none") {
    return InvalidArgument(node.describe(), ": activation '", act, "' is not none, relu or clip");
  }
  return p;
}

float apply_conv_activation(const NchwcConvParams& p, float v) {
  switch (p.act) {
    case ConvActivation::kRelu: return v > 0.f ? v : 0.f;
    case ConvActivation::kClip: return std::min(std::max(v, p.act_min), p.act_max);
    case ConvActivation::kNone: break;
  }
  return v;
}

StatusOr<NchwcConvGeometry> nchwc_conv_geometry(const Node& node, const NchwcConvParams& p, const Shape& x,
                                                const Shape& w) {
  if (w.size() != 4) return InvalidArgument(node.describe(), ": weight must be 4-D, got ", shape_to_string(w));
  SPARSERT_ASSIGN_OR_RETURN(int64_t group, node.attrs.get_int("group", 1));
  const int64_t channels = w[1] * group;
  NchwcConvGeometry g;
  Shape logical;
  if (x.size() == 4) {
    g.plain_input = true;
    logical = x;
  } else if (x.size() == 5 && x[4] == p.block && x[1] == nchwc_blocks(channels, p.block)) {
    logical = {x[0], channels, x[2], x[3]};
  } else {
    return InvalidArgument(node.describe(), ": input ", shape_to_string(x), " is neither NCHW nor blocked by ", p.block,
                           " for ", channels, " channels");
  }
  SPARSERT_ASSIGN_OR_RETURN(g.conv, conv_geometry(node, logical, w));
  g.out = nchwc_shape(g.conv.out_shape, p.block);
  return g;
}

namespace {

Status reorder_to_nchwc_reference(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_ASSIGN_OR_RETURN(int64_t b, ctx.attrs().get_int("block"));
  const Tensor& x = *ctx.input(0);
  if (x.rank() != 4 || b <= 0)
    return InvalidArgument(ctx.node().describe(), ": needs a 4-D input and a positive block, got ", x.type_string(),
                           " and block ", b);
  const int64_t N = x.dim(0), C = x.dim(1), plane = x.dim(2) * x.dim(3), CB = nchwc_blocks(C, b);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, nchwc_shape(x.shape(), b)));
  const float* px = x.data<float>();
  float* py = y->data<float>();  // zeroed: the lanes past C stay 0
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < plane; ++i) py[nchwc_offset(n, c, i, CB, plane, b)] = px[(n * C + c) * plane + i];
  return Status::OK();
}

Status reorder_from_nchwc_reference(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_ASSIGN_OR_RETURN(int64_t b, ctx.attrs().get_int("block"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t C, ctx.attrs().get_int("channels"));
  const Tensor& x = *ctx.input(0);
  if (x.rank() != 5 || b <= 0 || C < 0 || x.dim(4) != b || x.dim(1) != nchwc_blocks(C, b))
    return InvalidArgument(ctx.node().describe(), ": input ", x.type_string(), " is not ", C, " channels blocked by ", b);
  const int64_t N = x.dim(0), plane = x.dim(2) * x.dim(3), CB = x.dim(1);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, {N, C, x.dim(2), x.dim(3)},
                                                            OutputInit::kOverwritten));
  const float* px = x.data<float>();
  float* py = y->data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < plane; ++i) py[(n * C + c) * plane + i] = px[nchwc_offset(n, c, i, CB, plane, b)];
  return Status::OK();
}

Status nchwc_conv_reference(KernelContext& ctx) {
  for (int i = 0; i < 4; ++i)
    if (ctx.input(i)) SPARSERT_RETURN_IF_ERROR(expect_input(ctx, i, {DType::kFloat32}));
  SPARSERT_ASSIGN_OR_RETURN(NchwcConvParams p, nchwc_conv_params(ctx.node()));
  const Tensor& x = *ctx.input(0);
  const Tensor& wt = *ctx.input(1);
  const Tensor* bias = ctx.input(2);
  const Tensor* sum = ctx.input(3);
  SPARSERT_ASSIGN_OR_RETURN(NchwcConvGeometry geo, nchwc_conv_geometry(ctx.node(), p, x.shape(), wt.shape()));
  const ConvGeometry& g = geo.conv;
  if (bias && bias->num_elements() != g.M)
    return InvalidArgument(ctx.node().describe(), ": bias ", bias->type_string(), " must have ", g.M, " elements");
  if (sum && sum->shape() != geo.out)
    return InvalidArgument(ctx.node().describe(), ": Sum is ", sum->type_string(), ", expected the output's shape ",
                           shape_to_string(geo.out));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, geo.out));
  const int64_t b = p.block, in_plane = g.w.ih * g.w.iw, out_plane = g.w.oh * g.w.ow, kplane = g.w.kh * g.w.kw;
  const int64_t cg = g.C / g.group, in_blocks = nchwc_blocks(g.C, b), out_blocks = geo.out[1];
  const float* px = x.data<float>();
  const float* pw = wt.data<float>();
  const float* ps = sum ? sum->data<float>() : nullptr;
  float* py = y->data<float>();
  const bool plain = geo.plain_input;
  conv_direct<double>(
      g, [&](int64_t m) { return bias ? static_cast<double>(bias->data<float>()[m]) : 0.0; },
      [&](int64_t n, int64_t c, int64_t i) {
        return plain ? px[(n * g.C + c) * in_plane + i] : px[nchwc_offset(n, c, i, in_blocks, in_plane, b)];
      },
      [&](int64_t m, int64_t c, int64_t k) { return pw[(m * cg + c) * kplane + k]; },
      [&](int64_t n, int64_t m, int64_t o, double acc) {
        const int64_t at = nchwc_offset(n, m, o, out_blocks, out_plane, b);
        if (ps) acc += ps[at];
        py[at] = apply_conv_activation(p, static_cast<float>(acc));
      });
  return Status::OK();
}

}  // namespace

StatusOr<Window> nchwc_max_pool_window(const Node& node, const Shape& x) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t b, node.attrs.get_int("block"));
  if (x.size() != 5 || b <= 0 || x[4] != b)
    return InvalidArgument(node.describe(), ": input ", shape_to_string(x), " is not blocked by ", b);
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, node.attrs.get_ints("kernel_shape"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t ceil_mode, node.attrs.get_int("ceil_mode", 0));
  if (kernel.size() != 2) return InvalidArgument(node.describe(), ": kernel_shape must have 2 values, got ", kernel.size());
  return make_window(node, {x[0], x[1] * b, x[2], x[3]}, kernel, ceil_mode != 0);
}

namespace {

// Each output lane: the max of its window's values, NaN never taken (MaxPool's
// std::fmax from -inf).
Status nchwc_max_pool_reference(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(Window w, nchwc_max_pool_window(ctx.node(), x.shape()));
  const int64_t b = x.dim(4), planes = x.dim(0) * x.dim(1);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, {x.dim(0), x.dim(1), w.oh, w.ow, b}));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < w.oh; ++oy)
      for (int64_t ox = 0; ox < w.ow; ++ox)
        for (int64_t lane = 0; lane < b; ++lane) {
          float acc = -INFINITY;
          for (int64_t ky = 0; ky < w.kh; ++ky)
            for (int64_t kx = 0; kx < w.kw; ++kx) {
              const int64_t iy = oy * w.sh - w.pt + ky * w.dh, ix = ox * w.sw - w.pl + kx * w.dw;
              if (iy < 0 || iy >= w.ih || ix < 0 || ix >= w.iw) continue;
              acc = std::fmax(acc, x.data<float>()[((p * w.ih + iy) * w.iw + ix) * b + lane]);
            }
          y->data<float>()[((p * w.oh + oy) * w.ow + ox) * b + lane] = acc;
        }
  return Status::OK();
}

using namespace shape_rules;

Status reorder_to_nchwc_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  auto b = c.node().attrs.get_int("block");
  if (!known(x) || x.dims.size() != 4 || !x.dims[1].is_static() || !b.ok() || *b <= 0) {
    c.set_output_rank_unknown(0, x.dtype);
    return Status::OK();
  }
  c.set_output(0, x.dtype, {x.dims[0], Dim::of(nchwc_blocks(x.dims[1].value, *b)), x.dims[2], x.dims[3], Dim::of(*b)});
  return Status::OK();
}

Status reorder_from_nchwc_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  auto channels = c.node().attrs.get_int("channels");
  if (!known(x) || x.dims.size() != 5 || !channels.ok()) {
    c.set_output_rank_unknown(0, x.dtype);
    return Status::OK();
  }
  c.set_output(0, x.dtype, {x.dims[0], Dim::of(*channels), x.dims[2], x.dims[3]});
  return Status::OK();
}

Status nchwc_conv_rule(InferContext& c) {
  const ValueType &x = c.input(0), &w = c.input(1);
  auto p = nchwc_conv_params(c.node());
  auto group = c.node().attrs.get_int("group", 1);
  bool static_w = known(w) && w.dims.size() == 4;
  for (size_t d = 0; static_w && d < 4; ++d) static_w = w.dims[d].is_static();
  if (!p.ok() || !group.ok() || !known(x) || (x.dims.size() != 4 && x.dims.size() != 5) || !static_w) {
    c.set_output_rank_unknown(0, DType::kFloat32);
    return Status::OK();
  }
  const ValueType logical{x.dtype, true, {x.dims[0], Dim::of(w.dims[1].value * *group), x.dims[2], x.dims[3]}};
  Status error;
  std::vector<Dim> out = window_dims(c, logical, w.dims[0], {w.dims[2].value, w.dims[3].value}, false, error);
  SPARSERT_RETURN_IF_ERROR(error);
  c.set_output(0, DType::kFloat32,
               {out[0], Dim::of(nchwc_blocks(w.dims[0].value, p->block)), out[2], out[3], Dim::of(p->block)});
  return Status::OK();
}

Status nchwc_max_pool_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  auto b = c.node().attrs.get_int("block");
  auto kernel = c.node().attrs.get_ints("kernel_shape");
  auto ceil_mode = c.node().attrs.get_int("ceil_mode", 0);
  if (!known(x) || x.dims.size() != 5 || !x.dims[1].is_static() || !b.ok() || *b <= 0 || !kernel.ok() ||
      kernel->size() != 2 || !ceil_mode.ok()) {
    c.set_output_rank_unknown(0, DType::kFloat32);
    return Status::OK();
  }
  const Dim channels = Dim::of(x.dims[1].value * *b);
  const ValueType logical{x.dtype, true, {x.dims[0], channels, x.dims[2], x.dims[3]}};
  Status error;
  std::vector<Dim> out = window_dims(c, logical, channels, *kernel, *ceil_mode != 0, error);
  SPARSERT_RETURN_IF_ERROR(error);
  c.set_output(0, DType::kFloat32, {out[0], x.dims[1], out[2], out[3], Dim::of(*b)});
  return Status::OK();
}

}  // namespace

void register_nchwc_ops(OpRegistry& r) {
  OpSchema to{kSparsertDomain, "ReorderToNchwc", 1, 1, 1, 1, reorder_to_nchwc_reference};
  to.infer = reorder_to_nchwc_rule;
  r.add(std::move(to));
  OpSchema from{kSparsertDomain, "ReorderFromNchwc", 1, 1, 1, 1, reorder_from_nchwc_reference};
  from.infer = reorder_from_nchwc_rule;
  r.add(std::move(from));
  OpSchema conv{kSparsertDomain, "NchwcConv", 2, 4, 1, 1, nchwc_conv_reference};
  conv.infer = nchwc_conv_rule;
  r.add(std::move(conv));
  OpSchema pool{kSparsertDomain, "NchwcMaxPool", 1, 1, 1, 1, nchwc_max_pool_reference};
  pool.infer = nchwc_max_pool_rule;
  r.add(std::move(pool));
}

}  // namespace sparsert
