// oneDNN f32 implementations of MatMul and Gemm.
//  - onednn_linear_f32: MatMul with a constant 2-D B, and Gemm with a constant B
//    (bias C of N elements fused). Weights are stored once as [N,K]; X may have
//    any leading dims (flattened to M rows).
//  - onednn_linear_f32 for com.sparsert Linear: the same, with the activation
//    (ReLU / GELU) and residual add as oneDNN post-ops.
//  - onednn_matmul_f32: MatMul of two run-time operands of equal rank 2..6
//    (attention's QK^T and PV), B's batch dims equal to A's or 1.
// Anything else at run time (other dtypes, shapes) goes to the reference kernel.
#include <algorithm>

#include "jit/isa.h"
#include "jit/spmm/spmm_transpose.h"
#include "ops/linear.h"
#include "ops/onednn/onednn_common.h"
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using dnnl::memory;
using onednn::cpu_engine;
using onednn::guarded;
using onednn::scratchpad_attr;
using onednn::thread_scratchpad;
using onednn::to_dims;
using tag = memory::format_tag;
using dt = memory::data_type;

// Y[M,N] = X[M,K] * W + bias, W constant ([K,N], or [N,K] when transposed).
// W is kept as [N,K] row-major (oneDNN tag "ba" for the logical [K,N]): on AVX2
// oneDNN 2.6 runs that layout at 62-83 GFLOP/s for BERT shapes, while the layout
// it picks itself ("any") drops to ~27 GFLOP/s for N=3072, K=768 (measured with
// perf-style loops on Zen 3; see the issue note). One copy serves every M.
class ConstWeightLinear {
 public:
  static StatusOr<std::shared_ptr<ConstWeightLinear>> create(const Tensor& w, bool w_is_nk,
                                                             std::optional<Tensor> bias,
                                                             LinearActivation act = LinearActivation::kNone,
                                                             bool residual = false) {
    if (w.num_elements() == 0) return Unimplemented("the weight is empty (the reference kernel covers K = 0 or N = 0)");
    auto lin = std::shared_ptr<ConstWeightLinear>(new ConstWeightLinear());
    lin->K_ = w_is_nk ? w.dim(1) : w.dim(0);
    lin->N_ = w_is_nk ? w.dim(0) : w.dim(1);
    if (w_is_nk) {
      lin->w_nk_ = w;
    } else {
      SPARSERT_ASSIGN_OR_RETURN(lin->w_nk_, Tensor::allocate(DType::kFloat32, {lin->N_, lin->K_}));
      // 64x64 tiles keep both sides in cache (a plain column walk took ~0.4 s
      // of BERT-base's session creation).
      const float* src = w.data<float>();
      float* dst = lin->w_nk_.data<float>();
      for (int64_t k0 = 0; k0 < lin->K_; k0 += 64)
        for (int64_t n0 = 0; n0 < lin->N_; n0 += 64)
          jit::transpose32(src + k0 * lin->N_ + n0, lin->N_, std::min<int64_t>(64, lin->K_ - k0),
                           std::min<int64_t>(64, lin->N_ - n0), dst + n0 * lin->K_ + k0, lin->K_, jit::default_isa_cap());
    }
    lin->bias_ = std::move(bias);
    lin->act_ = act;
    lin->residual_ = residual;
    return lin;
  }
  int64_t K() const { return K_; }
  int64_t N() const { return N_; }

  // residual: [M, N], required when created with residual.
  Status run(const float* x, int64_t M, float* y, const float* residual = nullptr) {
    if (M == 0) return Status::OK();
    SPARSERT_ASSIGN_OR_RETURN(auto e, cache_.get({M}, [&] { return make(M); }));
    return guarded("linear", [&]() -> Status {
      dnnl::stream s(cpu_engine());
      memory src(e->src_md, cpu_engine(), const_cast<float*>(x));
      memory dst(e->dst_md, cpu_engine(), y);
      memory w(e->w_md, cpu_engine(), w_nk_.raw_data());
      std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src},
                                              {DNNL_ARG_WEIGHTS, w},
                                              {DNNL_ARG_DST, dst},
                                              {DNNL_ARG_SCRATCHPAD, thread_scratchpad(e->scratchpad_md)}};
      if (bias_) args[DNNL_ARG_BIAS] = memory(e->bias_md, cpu_engine(), bias_->raw_data());
      if (residual_)
        args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(e->residual_post_op) | DNNL_ARG_SRC_1] =
            memory(e->dst_md, cpu_engine(), const_cast<float*>(residual));
      e->prim.execute(s, args);
      s.wait();
      return Status::OK();
    });
  }

 private:
  ConstWeightLinear() = default;
  struct Entry {
    dnnl::matmul prim;
    memory::desc src_md, dst_md, w_md, bias_md, scratchpad_md;
    int residual_post_op = 0;  // index of the binary add in the post-op chain
  };

  StatusOr<std::shared_ptr<const Entry>> make(int64_t M) {
    auto e = std::make_shared<Entry>();
    Status st = guarded("linear setup", [&]() -> Status {
      e->src_md = memory::desc({M, K_}, dt::f32, tag::ab);
      e->dst_md = memory::desc({M, N_}, dt::f32, tag::ab);
      e->w_md = memory::desc({K_, N_}, dt::f32, tag::ba);
      if (bias_) e->bias_md = memory::desc({1, N_}, dt::f32, tag::ab);
      dnnl::matmul::desc d(e->src_md, e->w_md, bias_ ? e->bias_md : memory::desc(), e->dst_md);
      dnnl::post_ops po;
      if (act_ == LinearActivation::kRelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      if (act_ == LinearActivation::kGeluErf) po.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
      if (act_ == LinearActivation::kGeluTanh) po.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_tanh, 0.f, 0.f);
      if (residual_) {
        e->residual_post_op = po.len();
        po.append_binary(dnnl::algorithm::binary_add, e->dst_md);
      }
      dnnl::primitive_attr attr = scratchpad_attr();
      attr.set_post_ops(po);
      const dnnl::matmul::primitive_desc pd(d, attr, cpu_engine());
      e->prim = dnnl::matmul(pd);
      e->scratchpad_md = pd.scratchpad_desc();
      return Status::OK();
    });
    if (!st.ok()) return st;
    return std::shared_ptr<const Entry>(e);
  }

  Tensor w_nk_;
  std::optional<Tensor> bias_;
  LinearActivation act_ = LinearActivation::kNone;
  bool residual_ = false;
  int64_t K_ = 0, N_ = 0;
  onednn::ShapeCache<Entry> cache_;
};

StatusOr<KernelFn> linear_matmul(const Node& n, const Graph& g, const ImplContext&) {
  const Tensor* w = constant_input(n, g, 1);
  if (!w) return Unimplemented("B is not a constant");
  if (w->dtype() != DType::kFloat32 || w->rank() != 2)
    return Unimplemented("B is ", w->type_string(), ", needs a 2-D float constant");
  if (constant_input(n, g, 0)) return Unimplemented("A is constant (folded instead)");
  SPARSERT_ASSIGN_OR_RETURN(auto lin, ConstWeightLinear::create(*w, false, std::nullopt));
  KernelFn ref = reference_kernel(n);
  return KernelFn([lin, ref](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    if (a.dtype() != DType::kFloat32 || a.rank() < 1 || a.shape().back() != lin->K()) return ref(ctx);
    Shape out(a.shape().begin(), a.shape().end() - 1);
    out.push_back(lin->N());
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out, OutputInit::kOverwritten));
    return lin->run(a.data<float>(), a.num_elements() / lin->K(), y->data<float>());
  });
}

StatusOr<KernelFn> linear_gemm(const Node& n, const Graph& g, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(GemmAsLinear gl, gemm_as_linear(n, g));
  SPARSERT_ASSIGN_OR_RETURN(auto lin, ConstWeightLinear::create(*gl.w, gl.trans_b, gl.bias));
  KernelFn ref = reference_kernel(n);
  return KernelFn([lin, ref](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    if (a.dtype() != DType::kFloat32 || a.rank() != 2 || a.dim(1) != lin->K()) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, {a.dim(0), lin->N()}, OutputInit::kOverwritten));
    return lin->run(a.data<float>(), a.dim(0), y->data<float>());
  });
}

StatusOr<KernelFn> linear_fused(const Node& n, const Graph& g, const ImplContext&) {
  const Tensor* w = constant_input(n, g, 1);
  if (!w) return Unimplemented("W is not a constant");
  if (w->dtype() != DType::kFloat32 || w->rank() != 2)
    return Unimplemented("W is ", w->type_string(), ", needs a 2-D float constant");
  SPARSERT_ASSIGN_OR_RETURN(std::optional<Tensor> bias, constant_bias(n, g, 2, w->dim(1)));
  const bool residual = n.inputs.size() > 3 && n.inputs[3] != kNoValue;
  SPARSERT_ASSIGN_OR_RETURN(LinearActivation act, linear_activation(n));
  SPARSERT_ASSIGN_OR_RETURN(auto lin, ConstWeightLinear::create(*w, false, bias, act, residual));
  KernelFn ref = reference_kernel(n);
  return KernelFn([lin, ref, residual](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    if (a.dtype() != DType::kFloat32 || a.rank() < 1 || a.shape().back() != lin->K()) return ref(ctx);
    Shape out(a.shape().begin(), a.shape().end() - 1);
    out.push_back(lin->N());
    const Tensor* r = residual ? ctx.input(3) : nullptr;
    if (residual && (r->dtype() != DType::kFloat32 || r->shape() != out)) return ref(ctx);  // it names the mismatch
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out, OutputInit::kOverwritten));
    return lin->run(a.data<float>(), a.num_elements() / lin->K(), y->data<float>(), r ? r->data<float>() : nullptr);
  });
}

// Batched MatMul of two run-time operands.
class BatchedMatmul {
 public:
  Status run(const Tensor& a, const Tensor& b, Tensor& c) {
    std::vector<int64_t> key(a.shape());
    key.insert(key.end(), b.shape().begin(), b.shape().end());
    SPARSERT_ASSIGN_OR_RETURN(auto e, cache_.get(key, [&] { return make(a.shape(), b.shape(), c.shape()); }));
    return guarded("batched matmul", [&]() -> Status {
      dnnl::stream s(cpu_engine());
      memory ma(e->a_md, cpu_engine(), const_cast<void*>(a.raw_data()));
      memory mb(e->b_md, cpu_engine(), const_cast<void*>(b.raw_data()));
      memory mc(e->c_md, cpu_engine(), c.raw_data());
      e->prim.execute(s, {{DNNL_ARG_SRC, ma},
                          {DNNL_ARG_WEIGHTS, mb},
                          {DNNL_ARG_DST, mc},
                          {DNNL_ARG_SCRATCHPAD, thread_scratchpad(e->scratchpad_md)}});
      s.wait();
      return Status::OK();
    });
  }

 private:
  struct Entry {
    dnnl::matmul prim;
    memory::desc a_md, b_md, c_md, scratchpad_md;
  };
  static tag plain(size_t rank) {
    static const tag tags[] = {tag::undef, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde, tag::abcdef};
    return tags[rank];
  }
  StatusOr<std::shared_ptr<const Entry>> make(const Shape& a, const Shape& b, const Shape& c) {
    auto e = std::make_shared<Entry>();
    Status st = guarded("batched matmul setup", [&]() -> Status {
      e->a_md = memory::desc(to_dims(a), dt::f32, plain(a.size()));
      e->b_md = memory::desc(to_dims(b), dt::f32, plain(b.size()));
      e->c_md = memory::desc(to_dims(c), dt::f32, plain(c.size()));
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e->a_md, e->b_md, e->c_md), scratchpad_attr(),
                                            cpu_engine());
      e->prim = dnnl::matmul(pd);
      e->scratchpad_md = pd.scratchpad_desc();
      return Status::OK();
    });
    if (!st.ok()) return st;
    return std::shared_ptr<const Entry>(e);
  }
  onednn::ShapeCache<Entry> cache_;
};

StatusOr<KernelFn> batched_matmul(const Node& n, const Graph& g, const ImplContext&) {
  if (constant_input(n, g, 1)) return Unimplemented("B is constant (onednn_linear_f32 covers it)");
  auto mm = std::make_shared<BatchedMatmul>();
  KernelFn ref = reference_kernel(n);
  return KernelFn([mm, ref](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    const Tensor& b = *ctx.input(1);
    const int r = a.rank();
    bool fits = a.dtype() == DType::kFloat32 && b.dtype() == DType::kFloat32 && r >= 2 && r <= 6 && b.rank() == r &&
                a.dim(r - 1) == b.dim(r - 2);
    for (int d = 0; fits && d < r - 2; ++d) fits = b.dim(d) == a.dim(d) || b.dim(d) == 1;
    if (!fits) return ref(ctx);
    Shape out = a.shape();
    out[r - 1] = b.dim(r - 1);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * c, ctx.allocate_output(0, DType::kFloat32, out, OutputInit::kOverwritten));
    if (c->num_elements() == 0) return Status::OK();
    if (a.dim(r - 1) == 0) return Status::OK();  // K = 0: zeros, already allocated
    return mm->run(a, b, *c);
  });
}

}  // namespace

void register_onednn_impls(OpRegistry& r) {
  r.add_impl("", "MatMul", {"onednn_linear_f32", linear_matmul});
  r.add_impl("", "MatMul", {"onednn_matmul_f32", batched_matmul});
  r.add_impl("", "Gemm", {"onednn_linear_f32", linear_gemm});
  r.add_impl(kSparsertDomain, "Linear", {"onednn_linear_f32", linear_fused});
}

}  // namespace sparsert
