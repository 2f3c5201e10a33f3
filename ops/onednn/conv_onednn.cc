// oneDNN f32 convolutions (2-D, constant weights and bias, any pads incl.
// auto_pad, groups incl. depthwise, dilation):
// - onednn_conv_f32 runs Conv on the graph's plain NCHW tensors: the
//   convolution runs in the layout oneDNN picks (blocked: with plain NCHW it
//   has no fast depthwise kernel), with reorders at the kernel's edges.
// - onednn_nchwc_conv_f32 runs NchwcConv (ops/nchwc.h) directly on blocked
//   tensors, its residual add and activation fused as post-ops, so chains of
//   convolutions never reorder.
// - onednn_reorder_nchwc runs the reorders at such a chain's edges.
// - onednn_conv_integer_u8s8 runs ConvInteger (see conv_integer_impl).
// - onednn_qlinear_conv_u8s8 runs QLinearConv as ORT's quantizer writes it
//   (uint8 x and y, symmetric int8 weights, constant scales and zero points)
//   where oneDNN's int8 arithmetic is exact (onednn::int8_weights_exact): s32
//   from oneDNN, then ORT's requantization per output channel
//   (fast::requantize_u8_array; oneDNN's own output scaling adds the zero
//   point before rounding, which moves near-ties by one step).
// Weights are reordered once per input shape (ShapeCache).
#include <algorithm>

#include "ops/fast/vector_math.h"
#include "ops/linear.h"
#include "ops/nchwc.h"
#include "ops/onednn/onednn_common.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using dnnl::memory;
using onednn::cpu_engine;
using onednn::guarded;
using tag = memory::format_tag;
using dt = memory::data_type;

StatusOr<tag> blocked_tag(int64_t block) {
  switch (block) {
    case 4: return tag::nChw4c;
    case 8: return tag::nChw8c;
    case 16: return tag::nChw16c;
    default: return Unimplemented("no oneDNN layout for channel block ", block);
  }
}

// How a convolution meets the graph: plain NCHW on both sides (reordered to
// what the primitive wants), or NchwcConv's blocked tensors and post-ops; in
// float, or (QLinearConv) u8 x s8 -> s32 with x's zero point.
struct ConvMode {
  bool nchwc = false;
  NchwcConvParams params;  // nchwc only
  bool sum = false;        // nchwc only: a residual of Y's shape to add
  bool int8 = false;
};

class OnednnConv {
 public:
  OnednnConv(Tensor w, std::optional<Tensor> bias, ConvMode mode)
      : w_(std::move(w)), bias_(std::move(bias)), mode_(mode) {}

  // x and y as the graph holds them (y: s32 NCHW in int8 mode, over
  // x - x_zero_point); `g` the logical geometry; `sum` (nchwc mode) is added
  // before the activation.
  Status run(const Tensor& x, const Tensor* sum, void* y, const ConvGeometry& g, bool plain_input,
             int32_t x_zero_point = 0) {
    SPARSERT_ASSIGN_OR_RETURN(auto e, cache_.get(x.shape(), [&] { return make(g, plain_input); }));
    return guarded("conv", [&]() -> Status {
      dnnl::stream s(cpu_engine());
      memory src(e->src_md, cpu_engine(), const_cast<void*>(x.raw_data()));
      memory dst(e->dst_md, cpu_engine(), y);
      memory prim_src = src, prim_dst = dst;
      if (e->prim_src_md != e->src_md) {
        prim_src = memory(e->prim_src_md, cpu_engine());
        dnnl::reorder(src, prim_src).execute(s, src, prim_src);
      }
      if (e->prim_dst_md != e->dst_md) prim_dst = memory(e->prim_dst_md, cpu_engine());
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, prim_src},
                                              {DNNL_ARG_WEIGHTS, e->weights},
                                              {DNNL_ARG_DST, prim_dst},
                                              {DNNL_ARG_SCRATCHPAD, onednn::thread_scratchpad(e->scratchpad_md)}};
      if (bias_) args[DNNL_ARG_BIAS] = memory(e->bias_md, cpu_engine(), bias_->raw_data());
      if (sum)
        args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] =
            memory(e->dst_md, cpu_engine(), const_cast<void*>(sum->raw_data()));
      int32_t x_zp = x_zero_point;
      if (mode_.int8) args[DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC] = memory({{1}, dt::s32, tag::x}, cpu_engine(), &x_zp);
      e->prim.execute(s, args);
      if (e->prim_dst_md != e->dst_md) dnnl::reorder(prim_dst, dst).execute(s, prim_dst, dst);
      s.wait();
      return Status::OK();
    });
  }

 private:
  struct Entry {
    dnnl::convolution_forward prim;
    memory weights;
    memory::desc src_md, dst_md, bias_md;  // as the graph holds them
    memory::desc prim_src_md, prim_dst_md;  // what the convolution wants
    memory::desc scratchpad_md;
  };

  StatusOr<std::shared_ptr<const Entry>> make(const ConvGeometry& g, bool plain_input) {
    auto e = std::make_shared<Entry>();
    tag src_tag = tag::nchw, dst_tag = tag::nchw;
    if (mode_.nchwc) {
      SPARSERT_ASSIGN_OR_RETURN(dst_tag, blocked_tag(mode_.params.block));
      if (!plain_input) src_tag = dst_tag;
    }
    Status st = guarded("conv setup", [&]() -> Status {
      const memory::dims src_dims = {g.N, g.C, g.w.ih, g.w.iw}, dst_dims = {g.N, g.M, g.w.oh, g.w.ow};
      const dt src_dt = mode_.int8 ? dt::u8 : dt::f32, w_dt = mode_.int8 ? dt::s8 : dt::f32;
      const dt dst_dt = mode_.int8 ? dt::s32 : dt::f32;
      e->src_md = memory::desc(src_dims, src_dt, src_tag);
      e->dst_md = memory::desc(dst_dims, dst_dt, dst_tag);
      // Plain mode lets oneDNN pick the activation layout (see the file comment).
      const memory::desc src_want = mode_.nchwc ? e->src_md : memory::desc(src_dims, src_dt, tag::any);
      const memory::desc dst_want = mode_.nchwc ? e->dst_md : memory::desc(dst_dims, dst_dt, tag::any);
      const int64_t grp = g.group, M = g.M, Cg = g.C / grp, kh = g.w.kh, kw = g.w.kw;
      memory::dims wdims = grp == 1 ? memory::dims{M, Cg, kh, kw} : memory::dims{grp, M / grp, Cg, kh, kw};
      memory::desc w_plain(wdims, w_dt, grp == 1 ? tag::oihw : tag::goihw);
      memory::desc w_any(wdims, w_dt, tag::any);
      // int8: the s32 bias joins the accumulator, as in QLinearConv.
      if (bias_) e->bias_md = memory::desc({M}, mode_.int8 ? dt::s32 : dt::f32, tag::x);
      // oneDNN counts dilation from 0 (0 = dense window).
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        src_want, w_any, bias_ ? e->bias_md : memory::desc(), dst_want,
                                        {g.w.sh, g.w.sw}, {g.w.dh - 1, g.w.dw - 1}, {g.w.pt, g.w.pl},
                                        {g.w.pb, g.w.pr});
      dnnl::post_ops po;
      if (mode_.sum) po.append_binary(dnnl::algorithm::binary_add, e->dst_md);  // post-op 0, see run()
      if (mode_.params.act == ConvActivation::kRelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      if (mode_.params.act == ConvActivation::kClip)
        po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, mode_.params.act_min, mode_.params.act_max);
      dnnl::primitive_attr attr = onednn::scratchpad_attr();
      attr.set_post_ops(po);
      if (mode_.int8) attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::convolution_forward::primitive_desc pd(d, attr, cpu_engine());
      e->prim = dnnl::convolution_forward(pd);
      e->prim_src_md = pd.src_desc();
      e->prim_dst_md = pd.dst_desc();
      e->scratchpad_md = pd.scratchpad_desc();
      e->weights = onednn::weights_in_layout(pd.weights_desc(), memory(w_plain, cpu_engine(), w_.raw_data()));
      return Status::OK();
    });
    if (!st.ok()) return st;
    return std::shared_ptr<const Entry>(e);
  }

  Tensor w_;
  std::optional<Tensor> bias_;
  ConvMode mode_;
  onednn::ShapeCache<Entry> cache_;
};

// The constant 2-D float weight and bias of a (Nchwc)Conv node.
StatusOr<std::pair<Tensor, std::optional<Tensor>>> conv_constants(const Node& n, const Graph& g) {
  const Tensor* w = constant_input(n, g, 1);
  if (!w) return Unimplemented("weights are not a constant");
  if (w->dtype() != DType::kFloat32 || w->rank() != 4) return Unimplemented("weights ", w->type_string(), ": 2-D float conv only");
  std::optional<Tensor> bias;
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Tensor* b = constant_input(n, g, 2);
    if (!b) return Unimplemented("bias is not a constant");
    if (b->dtype() != DType::kFloat32 || b->num_elements() != w->dim(0))
      return Unimplemented("bias ", b->type_string(), " does not match ", w->dim(0), " output channels");
    bias = *b;
  }
  return std::make_pair(*w, bias);
}

StatusOr<KernelFn> conv_impl(const Node& n, const Graph& g, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(auto wb, conv_constants(n, g));
  auto conv = std::make_shared<OnednnConv>(wb.first, wb.second, ConvMode{});
  KernelFn ref = reference_kernel(n);
  const Shape w_shape = wb.first.shape();
  return KernelFn([conv, ref, w_shape](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() != 4) return ref(ctx);
    auto geo = conv_geometry(ctx.node(), x.shape(), w_shape);
    if (!geo.ok()) return ref(ctx);  // the reference reports the precise error
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, geo->out_shape, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    return conv->run(x, nullptr, y->raw_data(), *geo, true);
  });
}

StatusOr<KernelFn> nchwc_conv_impl(const Node& n, const Graph& g, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(auto wb, conv_constants(n, g));
  ConvMode mode;
  mode.nchwc = true;
  SPARSERT_ASSIGN_OR_RETURN(mode.params, nchwc_conv_params(n));
  SPARSERT_RETURN_IF_ERROR(blocked_tag(mode.params.block).status());
  mode.sum = n.inputs.size() > 3 && n.inputs[3] != kNoValue;
  auto conv = std::make_shared<OnednnConv>(wb.first, wb.second, mode);
  KernelFn ref = reference_kernel(n);
  const Shape w_shape = wb.first.shape();
  const NchwcConvParams params = mode.params;
  return KernelFn([conv, ref, w_shape, params](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor* sum = ctx.input(3);
    if (x.dtype() != DType::kFloat32 || (sum && sum->dtype() != DType::kFloat32)) return ref(ctx);
    auto geo = nchwc_conv_geometry(ctx.node(), params, x.shape(), w_shape);
    if (!geo.ok() || (sum && sum->shape() != geo->out)) return ref(ctx);  // the reference reports the error
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, geo->out, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    return conv->run(x, sum, y->raw_data(), geo->conv, geo->plain_input);
  });
}

StatusOr<KernelFn> qlinear_conv_impl(const Node& n, const Graph& g, const ImplContext& ictx) {
  // x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B
  const Tensor* w = constant_input(n, g, 3);
  if (!w || w->dtype() != DType::kInt8 || w->rank() != 4) return Unimplemented("w is not a constant 2-D int8 conv weight");
  SPARSERT_RETURN_IF_ERROR(onednn::int8_weights_exact(*w, ictx.isa_cap));
  const int64_t M = w->dim(0);
  SPARSERT_RETURN_IF_ERROR(constant_zero_point_is_zero(n, g, 5, "w"));
  SPARSERT_ASSIGN_OR_RETURN(QLinearConstants q, qlinear_constants(n, g, M));
  std::optional<Tensor> bias;
  if (n.inputs.size() > 8 && n.inputs[8] != kNoValue) {
    const Tensor* b = constant_input(n, g, 8);
    if (!b || b->dtype() != DType::kInt32 || b->num_elements() != M)
      return Unimplemented("bias is not a constant int32 of ", M, " values");
    bias = *b;
  }
  ConvMode mode;
  mode.int8 = true;
  auto conv = std::make_shared<OnednnConv>(*w, bias, mode);
  KernelFn ref = reference_kernel(n);
  const Shape w_shape = w->shape();
  return KernelFn([conv, ref, w_shape, q](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kUInt8 || x.rank() != 4) return ref(ctx);
    auto geo = conv_geometry(ctx.node(), x.shape(), w_shape);
    if (!geo.ok()) return ref(ctx);  // the reference reports the precise error
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kUInt8, geo->out_shape, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    std::vector<int32_t> acc(static_cast<size_t>(y->num_elements()));
    SPARSERT_RETURN_IF_ERROR(conv->run(x, nullptr, acc.data(), *geo, true, q.x_zero_point));
    const int64_t plane = geo->w.oh * geo->w.ow;
    for (int64_t nm = 0; nm < geo->N * geo->M; ++nm)
      fast::requantize_u8_array(acc.data() + nm * plane, plane, q.mult[static_cast<size_t>(nm % geo->M)], q.y_zero_point,
                                y->data<uint8_t>() + nm * plane);
    return Status::OK();
  });
}

// ConvInteger as ORT's quantize_dynamic writes it: uint8 weights with a
// constant zero point (per tensor or per output channel) and uint8 x with a
// run-time zero point. w - w_zp is taken as int8 weights with zero point 0
// where every value fits (ORT's zero point 128 always does), then the same
// u8 x s8 -> s32 convolution as QLinearConv.
StatusOr<KernelFn> conv_integer_impl(const Node& n, const Graph& g, const ImplContext& ictx) {
  // x, w, x_zero_point, w_zero_point
  const Tensor* w = constant_input(n, g, 1);
  if (!w || (w->dtype() != DType::kUInt8 && w->dtype() != DType::kInt8) || w->rank() != 4)
    return Unimplemented("w is not a constant 2-D 8-bit conv weight");
  const int64_t M = w->dim(0), per_m = w->num_elements() / std::max<int64_t>(M, 1);
  std::vector<int64_t> w_zp(static_cast<size_t>(M), 0);
  if (n.inputs.size() > 3 && n.inputs[3] != kNoValue) {
    const Tensor* wz = constant_input(n, g, 3);
    if (!wz || (wz->num_elements() != 1 && wz->num_elements() != M))
      return Unimplemented("w zero point is not a constant of 1 or ", M, " values");
    for (int64_t m = 0; m < M; ++m) w_zp[static_cast<size_t>(m)] = wz->element_as_int64(wz->num_elements() == 1 ? 0 : m);
  }
  std::vector<int8_t> shifted(static_cast<size_t>(w->num_elements()));
  for (int64_t i = 0; i < w->num_elements(); ++i) {
    const int64_t v = w->element_as_int64(i) - w_zp[static_cast<size_t>(i / per_m)];
    if (v < -128 || v > 127) return Unimplemented("w - w_zero_point leaves the int8 range");
    shifted[static_cast<size_t>(i)] = static_cast<int8_t>(v);
  }
  Tensor w8 = Tensor::from_vector<int8_t>(w->shape(), shifted);
  SPARSERT_RETURN_IF_ERROR(onednn::int8_weights_exact(w8, ictx.isa_cap));
  ConvMode mode;
  mode.int8 = true;
  auto conv = std::make_shared<OnednnConv>(w8, std::nullopt, mode);
  KernelFn ref = reference_kernel(n);
  const Shape w_shape = w->shape();
  return KernelFn([conv, ref, w_shape](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor* x_zp = ctx.input(2);
    if (x.dtype() != DType::kUInt8 || x.rank() != 4) return ref(ctx);
    if (x_zp && (x_zp->dtype() != DType::kUInt8 || x_zp->num_elements() != 1)) return ref(ctx);
    auto geo = conv_geometry(ctx.node(), x.shape(), w_shape);
    if (!geo.ok()) return ref(ctx);  // the reference reports the precise error
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt32, geo->out_shape, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    return conv->run(x, nullptr, y->raw_data(), *geo, true, x_zp ? x_zp->data<uint8_t>()[0] : 0);
  });
}

// ReorderToNchwc / ReorderFromNchwc as one oneDNN reorder (which also zeroes
// the padding lanes of a blocked destination).
StatusOr<KernelFn> reorder_nchwc_impl(const Node& n, const Graph&, const ImplContext&, bool to_blocked) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t block, n.attrs.get_int("block"));
  SPARSERT_ASSIGN_OR_RETURN(tag blocked, blocked_tag(block));
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref, block, blocked, to_blocked](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32) return ref(ctx);
    Shape logical;
    if (to_blocked) {
      if (x.rank() != 4) return ref(ctx);
      logical = x.shape();
    } else {
      auto channels = ctx.attrs().get_int("channels");
      if (!channels.ok() || *channels < 0 || x.rank() != 5 || x.dim(4) != block ||
          x.dim(1) != nchwc_blocks(*channels, block))
        return ref(ctx);
      logical = {x.dim(0), *channels, x.dim(2), x.dim(3)};
    }
    const Shape out = to_blocked ? nchwc_shape(logical, block) : logical;
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    return guarded("reorder", [&]() -> Status {
      const memory::dims dims = onednn::to_dims(logical);
      memory plain(memory::desc(dims, dt::f32, tag::nchw), cpu_engine());
      memory block_mem(memory::desc(dims, dt::f32, blocked), cpu_engine());
      memory& src = to_blocked ? plain : block_mem;
      memory& dst = to_blocked ? block_mem : plain;
      src.set_data_handle(const_cast<void*>(x.raw_data()));
      dst.set_data_handle(y->raw_data());
      dnnl::stream s(cpu_engine());
      dnnl::reorder(src, dst).execute(s, src, dst);
      s.wait();
      return Status::OK();
    });
  });
}

}  // namespace

void register_onednn_conv_impls(OpRegistry& r) {
  r.add_impl("", "Conv", {"onednn_conv_f32", conv_impl});
  r.add_impl(kSparsertDomain, "NchwcConv", {"onednn_nchwc_conv_f32", nchwc_conv_impl});
  r.add_impl("", "QLinearConv", {"onednn_qlinear_conv_u8s8", qlinear_conv_impl});
  r.add_impl("", "ConvInteger", {"onednn_conv_integer_u8s8", conv_integer_impl});
  r.add_impl(kSparsertDomain, "ReorderToNchwc",
             {"onednn_reorder_nchwc", [](const Node& n, const Graph& g, const ImplContext& c) {
                return reorder_nchwc_impl(n, g, c, true);
              }});
  r.add_impl(kSparsertDomain, "ReorderFromNchwc",
             {"onednn_reorder_nchwc", [](const Node& n, const Graph& g, const ImplContext& c) {
                return reorder_nchwc_impl(n, g, c, false);
              }});
}

}  // namespace sparsert
