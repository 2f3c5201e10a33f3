// oneDNN f32 Conv (2-D, constant weights and bias, explicit pads, groups incl.
// depthwise, dilation). The graph holds plain NCHW; the convolution runs in the
// layout oneDNN picks, with reorders at the kernel's edges until a layout pass
// keeps blocked tensors between layers. Weights are reordered once per input shape.
#include "ops/onednn/onednn_common.h"
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using dnnl::memory;
using onednn::cpu_engine;
using onednn::guarded;
using tag = memory::format_tag;
using dt = memory::data_type;

struct ConvParams {
  int64_t group = 1;
  std::vector<int64_t> strides{1, 1}, dilations{1, 1}, pads{0, 0, 0, 0};
};

class OnednnConv {
 public:
  OnednnConv(Tensor w, std::optional<Tensor> bias, ConvParams p) : w_(std::move(w)), bias_(std::move(bias)), p_(std::move(p)) {}

  // Output shape for an NCHW input, or an error when the window does not fit.
  StatusOr<Shape> out_shape(const Shape& x) const {
    Shape o = {x[0], w_.dim(0), 0, 0};
    for (int i = 0; i < 2; ++i) {
      const int64_t ext = p_.dilations[i] * (w_.dim(2 + i) - 1) + 1;
      const int64_t span = x[2 + i] + p_.pads[i] + p_.pads[i + 2] - ext;
      if (span < 0) return InvalidArgument("window larger than padded input");
      o[2 + i] = span / p_.strides[i] + 1;
    }
    return o;
  }

  Status run(const Tensor& x, Tensor& y) {
    SPARSERT_ASSIGN_OR_RETURN(auto e, cache_.get(x.shape(), [&] { return make(x.shape(), y.shape()); }));
    return guarded("conv", [&]() -> Status {
      dnnl::stream s(cpu_engine());
      memory src(e->src_md, cpu_engine(), const_cast<void*>(x.raw_data()));
      memory dst(e->dst_md, cpu_engine(), y.raw_data());
      memory prim_src = src, prim_dst = dst;
      if (e->prim_src_md != e->src_md) {
        prim_src = memory(e->prim_src_md, cpu_engine());
        dnnl::reorder(src, prim_src).execute(s, src, prim_src);
      }
      if (e->prim_dst_md != e->dst_md) prim_dst = memory(e->prim_dst_md, cpu_engine());
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, prim_src}, {DNNL_ARG_WEIGHTS, e->weights},
                                              {DNNL_ARG_DST, prim_dst}};
      if (bias_) args[DNNL_ARG_BIAS] = memory(e->bias_md, cpu_engine(), bias_->raw_data());
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
    memory::desc src_md, dst_md, bias_md;        // plain NCHW, what the graph holds
    memory::desc prim_src_md, prim_dst_md;        // what the convolution wants (often blocked)
  };

  StatusOr<std::shared_ptr<const Entry>> make(const Shape& x, const Shape& y) {
    auto e = std::make_shared<Entry>();
    Status st = guarded("conv setup", [&]() -> Status {
      e->src_md = memory::desc(onednn::to_dims(x), dt::f32, tag::nchw);
      e->dst_md = memory::desc(onednn::to_dims(y), dt::f32, tag::nchw);
      // Let oneDNN pick the activation layout: with plain NCHW it has no fast
      // depthwise kernel (MobileNetV2's 3x3 depthwise layers ran ~3x slower).
      // Until a layout pass keeps blocked tensors between layers, reorder here.
      const memory::desc src_any(onednn::to_dims(x), dt::f32, tag::any);
      const memory::desc dst_any(onednn::to_dims(y), dt::f32, tag::any);
      const int64_t g = p_.group, M = w_.dim(0), Cg = w_.dim(1), kh = w_.dim(2), kw = w_.dim(3);
      memory::dims wdims = g == 1 ? memory::dims{M, Cg, kh, kw} : memory::dims{g, M / g, Cg, kh, kw};
      memory::desc w_plain(wdims, dt::f32, g == 1 ? tag::oihw : tag::goihw);
      memory::desc w_any(wdims, dt::f32, tag::any);
      if (bias_) e->bias_md = memory::desc({M}, dt::f32, tag::x);
      // oneDNN counts dilation from 0 (0 = dense window).
      memory::dims dil = {p_.dilations[0] - 1, p_.dilations[1] - 1};
      dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                        src_any, w_any, bias_ ? e->bias_md : memory::desc(), dst_any,
                                        {p_.strides[0], p_.strides[1]}, dil, {p_.pads[0], p_.pads[1]},
                                        {p_.pads[2], p_.pads[3]});
      dnnl::convolution_forward::primitive_desc pd(d, cpu_engine());
      e->prim = dnnl::convolution_forward(pd);
      e->prim_src_md = pd.src_desc();
      e->prim_dst_md = pd.dst_desc();
      e->weights = onednn::weights_in_layout(pd.weights_desc(), memory(w_plain, cpu_engine(), w_.raw_data()));
      return Status::OK();
    });
    if (!st.ok()) return st;
    return std::shared_ptr<const Entry>(e);
  }

  Tensor w_;
  std::optional<Tensor> bias_;
  ConvParams p_;
  onednn::ShapeCache<Entry> cache_;
};

StatusOr<KernelFn> conv_impl(const Node& n, const Graph& g, const ImplContext&) {
  const Tensor* wp = constant_input(n, g, 1);
  if (!wp) return Unimplemented("weights are not a constant");
  const Tensor& w = *wp;
  if (w.dtype() != DType::kFloat32 || w.rank() != 4) return Unimplemented("weights ", w.type_string(), ": 2-D float conv only");
  std::optional<Tensor> bias;
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Tensor* b = constant_input(n, g, 2);
    if (!b) return Unimplemented("bias is not a constant");
    if (b->dtype() != DType::kFloat32 || b->num_elements() != w.dim(0))
      return Unimplemented("bias ", b->type_string(), " does not match ", w.dim(0), " output channels");
    bias = *b;
  }
  ConvParams p;
  SPARSERT_ASSIGN_OR_RETURN(std::string auto_pad, n.attrs.get_string("auto_pad", "NOTSET"));
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return Unimplemented("auto_pad=", auto_pad);
  SPARSERT_ASSIGN_OR_RETURN(p.group, n.attrs.get_int("group", 1));
  SPARSERT_ASSIGN_OR_RETURN(p.strides, n.attrs.get_ints("strides", p.strides));
  SPARSERT_ASSIGN_OR_RETURN(p.dilations, n.attrs.get_ints("dilations", p.dilations));
  if (auto_pad == "NOTSET") { SPARSERT_ASSIGN_OR_RETURN(p.pads, n.attrs.get_ints("pads", p.pads)); }
  std::vector<int64_t> kernel = {w.dim(2), w.dim(3)};
  SPARSERT_ASSIGN_OR_RETURN(kernel, n.attrs.get_ints("kernel_shape", kernel));
  if (p.strides.size() != 2 || p.dilations.size() != 2 || p.pads.size() != 4 || kernel != std::vector<int64_t>{w.dim(2), w.dim(3)})
    return Unimplemented("attributes are not those of a 2-D convolution");
  for (int64_t v : p.strides) if (v <= 0) return Unimplemented("non-positive stride");
  for (int64_t v : p.dilations) if (v <= 0) return Unimplemented("non-positive dilation");
  for (int64_t v : p.pads) if (v < 0) return Unimplemented("negative pad");
  if (p.group <= 0 || w.dim(0) % p.group != 0) return Unimplemented("group=", p.group, " does not divide ", w.dim(0));
  auto conv = std::make_shared<OnednnConv>(w, bias, p);
  KernelFn ref = reference_kernel(n);
  const int64_t cin = w.dim(1) * p.group;
  return KernelFn([conv, ref, cin](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() != 4 || x.dim(1) != cin) return ref(ctx);
    auto shape = conv->out_shape(x.shape());
    if (!shape.ok()) return ref(ctx);  // the reference reports the precise error
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, *shape, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    return conv->run(x, *y);
  });
}

}  // namespace

void register_onednn_conv_impls(OpRegistry& r) { r.add_impl("", "Conv", {"onednn_conv_f32", conv_impl}); }

}  // namespace sparsert
