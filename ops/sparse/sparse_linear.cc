// Sparse implementations of linear layers with constant weights, on the
// jit::Spmm kernels (AVX2 JIT or their plain C++ twins):
//  - sparse_linear_f32: MatMul with a constant 2-D float B; Gemm with a
//    constant B (transB either way) and a constant bias C of N elements.
//  - sparse_linear_f32 for com.sparsert Linear: the same with the activation
//    and the residual add in the kernel's epilogue.
//  - sparse_integer_linear_u8s8 for com.sparsert IntegerLinear: the exact
//    product, then dequantization, bias, activation and residual in the epilogue.
//  - sparse_matmul_integer_u8s8: MatMulInteger with u8 A, constant 2-D int8 B
//    whose zero point is 0 (a sparse weight's zeros are its zero point), exact.
//  - sparse_qlinear_matmul_u8s8: QLinearMatMul (ORT's QOperator form, and what
//    the fuse_qdq pass makes of QDQ MatMuls): the same exact product, then
//    ORT's requantization in the kernel's u8 epilogue (bit-identical to
//    requantize<uint8_t>, see the kernel).
// Each declines unless the cost model (sparse_cost_model.h) expects the sparse
// kernel to beat the dense path, and says why. The int8 ones also take dense
// weights where the cost model picks the exact dense tiles (no VNNI). Run-time
// inputs they do not cover go to the reference kernel.
#include "jit/spmm/spmm.h"
#include "ops/linear.h"
#include <algorithm>
#include <memory>

#include "ops/fast/vector_math.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"
#include "ops/sparse/sparse_cost_model.h"
#include "ops/sparse/sparse_report.h"

namespace sparsert {
namespace {

using jit::PostOp;
using jit::Spmm;
using jit::SpmmDesc;
using jit::SpmmDType;
using jit::SpmmOut;
using jit::SpmmRunArgs;

// Allocates Y (X's dims with the last one N, of out_type) and binds X, Y and
// the residual (when given) into the run arguments; nullopt when the residual
// does not have Y's shape (the caller's reference kernel then names it).
StatusOr<std::optional<SpmmRunArgs>> bind_operands(KernelContext& ctx, const Spmm& spmm, DType out_type,
                                                   const Tensor* residual) {
  const Tensor& x = *ctx.input(0);
  const int64_t K = spmm.desc().k, N = spmm.desc().n;
  Shape out(x.shape().begin(), x.shape().end() - 1);
  out.push_back(N);
  if (residual && (residual->dtype() != DType::kFloat32 || residual->shape() != out)) return std::optional<SpmmRunArgs>();
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, out_type, out, OutputInit::kOverwritten));
  SpmmRunArgs a;
  a.m = x.num_elements() / K;
  a.x = x.raw_data();
  a.ldx = K;
  a.y = y->raw_data();
  a.ldy = N;
  if (residual) {
    a.residual = residual->data<float>();
    a.ld_residual = N;
  }
  return std::optional<SpmmRunArgs>(a);
}

// Y[..., N] = post(X[..., K] * W) on the sparse kernel; keeps the bias alive.
// With a residual post-op, input 3 is the residual (com.sparsert Linear).
KernelFn f32_kernel(std::shared_ptr<const Spmm> spmm, std::optional<Tensor> bias, int threads, KernelFn ref,
                    bool x_must_be_2d) {
  const auto& post = spmm->desc().post;
  const bool residual = std::find(post.begin(), post.end(), PostOp::kResidualAdd) != post.end();
  return [spmm, bias, threads, ref, x_must_be_2d, residual](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const int64_t K = spmm->desc().k;
    if (x.dtype() != DType::kFloat32 || x.rank() < 1 || x.shape().back() != K || (x_must_be_2d && x.rank() != 2))
      return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(std::optional<SpmmRunArgs> a, bind_operands(ctx, *spmm, DType::kFloat32,
                                                                       residual ? ctx.input(3) : nullptr));
    if (!a) return ref(ctx);
    if (bias) a->bias = bias->data<float>();
    return spmm->run(*a, threads);
  };
}

StatusOr<std::shared_ptr<const Spmm>> make_f32(const Tensor& w, bool w_is_nk, jit::PostOpChain post,
                                               const ImplContext& ictx) {
  const int64_t N = w_is_nk ? w.dim(0) : w.dim(1), K = w_is_nk ? w.dim(1) : w.dim(0);
  const int64_t stride_n = w_is_nk ? K : 1, stride_k = w_is_nk ? 1 : N;
  const SparseChoice choice =
      choose_sparse_f32(w.data<float>(), N, K, stride_n, stride_k, ictx.isa_cap, ictx.sparse);
  if (!choice.sparse) return Unimplemented("dense is faster: ", choice.why);
  SpmmDesc d;
  d.n = N;
  d.k = K;
  d.dtype = SpmmDType::kF32;
  d.out = SpmmOut::kF32;
  d.band_rows = choice.band_rows;
  d.post = post;
  d.isa_cap = ictx.isa_cap;
  SPARSERT_ASSIGN_OR_RETURN(auto spmm, Spmm::create(d, w.raw_data(), stride_n, stride_k));
  return reported(std::move(spmm), choice, ictx);
}

// W: int8 [K, N] (MatMulInteger's B). Declines where the cost model expects dense to win.
StatusOr<std::shared_ptr<const Spmm>> make_s8(const Tensor& w, SpmmOut out, jit::PostOpChain post,
                                              const ImplContext& ictx) {
  const int64_t K = w.dim(0), N = w.dim(1);
  const SparseChoice choice = choose_sparse_s8(w.data<int8_t>(), N, K, 1, N, ictx.isa_cap, ictx.sparse);
  if (!choice.sparse) return Unimplemented("dense is faster: ", choice.why);
  SpmmDesc d;
  d.n = N;
  d.k = K;
  d.dtype = SpmmDType::kU8S8;
  d.out = out;
  d.layout = choice.layout;
  d.band_rows = choice.band_rows;
  d.k_block = choice.k_block;
  d.post = post;
  d.isa_cap = ictx.isa_cap;
  SPARSERT_ASSIGN_OR_RETURN(auto spmm, Spmm::create(d, w.raw_data(), 1, N));
  return reported(std::move(spmm), choice, ictx);
}

StatusOr<KernelFn> sparse_matmul_f32(const Node& n, const Graph& g, const ImplContext& ictx) {
  const Tensor* w = constant_input(n, g, 1);
  if (!w) return Unimplemented("B is not a constant");
  if (w->dtype() != DType::kFloat32 || w->rank() != 2 || w->num_elements() == 0)
    return Unimplemented("B is ", w->type_string(), ", needs a non-empty 2-D float constant");
  if (constant_input(n, g, 0)) return Unimplemented("A is constant (folded instead)");
  SPARSERT_ASSIGN_OR_RETURN(auto spmm, make_f32(*w, false, {}, ictx));
  return f32_kernel(spmm, std::nullopt, ictx.threads, reference_kernel(n), false);
}

StatusOr<KernelFn> sparse_gemm_f32(const Node& n, const Graph& g, const ImplContext& ictx) {
  SPARSERT_ASSIGN_OR_RETURN(GemmAsLinear gl, gemm_as_linear(n, g));
  if (gl.w->num_elements() == 0) return Unimplemented("B is empty");
  jit::PostOpChain post{};
  if (gl.bias) post[0] = PostOp::kBias;
  SPARSERT_ASSIGN_OR_RETURN(auto spmm, make_f32(*gl.w, gl.trans_b, post, ictx));
  return f32_kernel(spmm, gl.bias, ictx.threads, reference_kernel(n), true);
}

// The epilogue chain of a Linear / IntegerLinear node: bias (input bias_input,
// when present), the activation attribute, residual (input bias_input + 1).
StatusOr<jit::PostOpChain> epilogue_chain(const Node& n, size_t bias_input) {
  jit::PostOpChain post{};
  int i = 0;
  if (n.inputs.size() > bias_input && n.inputs[bias_input] != kNoValue) post[i++] = PostOp::kBias;
  SPARSERT_ASSIGN_OR_RETURN(LinearActivation act, linear_activation(n));
  if (act == LinearActivation::kRelu) post[i++] = PostOp::kRelu;
  if (act == LinearActivation::kGeluErf) post[i++] = PostOp::kGeluErf;
  if (act == LinearActivation::kGeluTanh) post[i++] = PostOp::kGeluTanh;
  if (n.inputs.size() > bias_input + 1 && n.inputs[bias_input + 1] != kNoValue) post[i++] = PostOp::kResidualAdd;
  return post;
}

StatusOr<KernelFn> sparse_linear_fused(const Node& n, const Graph& g, const ImplContext& ictx) {
  const Tensor* w = constant_input(n, g, 1);
  if (!w) return Unimplemented("W is not a constant");
  if (w->dtype() != DType::kFloat32 || w->rank() != 2 || w->num_elements() == 0)
    return Unimplemented("W is ", w->type_string(), ", needs a non-empty 2-D float constant");
  SPARSERT_ASSIGN_OR_RETURN(std::optional<Tensor> bias, constant_bias(n, g, 2, w->dim(1)));
  SPARSERT_ASSIGN_OR_RETURN(jit::PostOpChain post, epilogue_chain(n, 2));
  SPARSERT_ASSIGN_OR_RETURN(auto spmm, make_f32(*w, false, post, ictx));
  return f32_kernel(spmm, bias, ictx.threads, reference_kernel(n), false);
}

StatusOr<KernelFn> sparse_integer_linear(const Node& n, const Graph& g, const ImplContext& ictx) {
  const Tensor* w = constant_input(n, g, 1);
  if (!w) return Unimplemented("W is not a constant");
  if (w->dtype() != DType::kInt8 || w->rank() != 2 || w->num_elements() == 0)
    return Unimplemented("W is ", w->type_string(), ", needs non-empty 2-D int8");
  const int64_t N = w->dim(1);
  const Tensor* w_scale = constant_input(n, g, 4);
  if (!w_scale || w_scale->dtype() != DType::kFloat32 || (w_scale->num_elements() != 1 && w_scale->num_elements() != N))
    return Unimplemented("w_scale is not a float constant of 1 or ", N, " elements");
  SPARSERT_ASSIGN_OR_RETURN(std::optional<Tensor> bias, constant_bias(n, g, 5, N));
  SPARSERT_ASSIGN_OR_RETURN(jit::PostOpChain post, epilogue_chain(n, 5));
  SPARSERT_ASSIGN_OR_RETURN(std::shared_ptr<const Spmm> spmm, make_s8(*w, SpmmOut::kF32, post, ictx));
  const Tensor scales = *w_scale;
  const bool residual = n.inputs.size() > 6 && n.inputs[6] != kNoValue;
  KernelFn ref = reference_kernel(n);
  const int threads = ictx.threads;
  return KernelFn([spmm, scales, bias, residual, ref, threads](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor* zp = ctx.input(2);
    const Tensor* xs = ctx.input(3);
    const int64_t K = spmm->desc().k;
    if (x.dtype() != DType::kUInt8 || x.rank() < 1 || x.shape().back() != K || zp->dtype() != DType::kUInt8 ||
        zp->num_elements() != 1 || xs->dtype() != DType::kFloat32 || xs->num_elements() != 1)
      return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(std::optional<SpmmRunArgs> a, bind_operands(ctx, *spmm, DType::kFloat32,
                                                                       residual ? ctx.input(6) : nullptr));
    if (!a) return ref(ctx);
    a->x_zero_point = zp->data<uint8_t>()[0];
    a->x_scale = xs->data<float>()[0];
    a->w_scales = scales.data<float>();
    a->w_scales_count = scales.num_elements();
    if (bias) a->bias = bias->data<float>();
    if (ctx.output_wanted(1)) {  // Y's range, taken in the epilogue (for DynamicQuantizeLinear)
      SPARSERT_ASSIGN_OR_RETURN(Tensor * range, ctx.allocate_output(1, DType::kFloat32, {2}));
      a->y_range = range->data<float>();
    }
    return spmm->run(*a, threads);
  });
}

// The constant non-empty 2-D int8 B at input b_index whose zero point (input
// zp_index) is 0: a sparse weight's zeros are its zero point.
StatusOr<const Tensor*> symmetric_int8_b(const Node& n, const Graph& g, size_t b_index, size_t zp_index) {
  const Tensor* b = constant_input(n, g, b_index);
  if (!b) return Unimplemented("B is not a constant");
  if (b->dtype() != DType::kInt8 || b->rank() != 2 || b->num_elements() == 0)
    return Unimplemented("B is ", b->type_string(), ", needs non-empty 2-D int8");
  SPARSERT_RETURN_IF_ERROR(constant_zero_point_is_zero(n, g, zp_index, "B"));
  return b;
}

StatusOr<KernelFn> sparse_matmul_integer_u8s8(const Node& n, const Graph& g, const ImplContext& ictx) {
  SPARSERT_ASSIGN_OR_RETURN(const Tensor* b, symmetric_int8_b(n, g, 1, 3));
  SPARSERT_ASSIGN_OR_RETURN(std::shared_ptr<const Spmm> spmm, make_s8(*b, SpmmOut::kS32, {}, ictx));
  KernelFn ref = reference_kernel(n);
  const int threads = ictx.threads;
  return KernelFn([spmm, ref, threads](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    const Tensor* a_zp = ctx.input(2);
    const int64_t K = spmm->desc().k;
    if (a.dtype() != DType::kUInt8 || a.rank() < 1 || a.shape().back() != K) return ref(ctx);
    if (a_zp && (a_zp->num_elements() != 1 || a_zp->dtype() != DType::kUInt8)) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(std::optional<SpmmRunArgs> args, bind_operands(ctx, *spmm, DType::kInt32, nullptr));
    args->x_zero_point = a_zp ? a_zp->data<uint8_t>()[0] : 0;
    return spmm->run(*args, threads);
  });
}

StatusOr<KernelFn> sparse_qlinear_matmul_u8s8(const Node& n, const Graph& g, const ImplContext& ictx) {
  // a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point
  SPARSERT_ASSIGN_OR_RETURN(const Tensor* b, symmetric_int8_b(n, g, 3, 5));
  SPARSERT_ASSIGN_OR_RETURN(QLinearConstants q, qlinear_constants(n, g, b->dim(1)));
  SPARSERT_ASSIGN_OR_RETURN(std::shared_ptr<const Spmm> spmm, make_s8(*b, SpmmOut::kU8, {}, ictx));
  KernelFn ref = reference_kernel(n);
  const int threads = ictx.threads;
  return KernelFn([spmm, q, ref, threads](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    const int64_t K = spmm->desc().k, N = spmm->desc().n;
    if (a.dtype() != DType::kUInt8 || a.rank() < 1 || a.shape().back() != K) return ref(ctx);
    Shape out(a.shape().begin(), a.shape().end() - 1);
    out.push_back(N);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kUInt8, out, OutputInit::kOverwritten));
    SpmmRunArgs args;
    args.m = a.num_elements() / K;
    args.x = a.raw_data();
    args.ldx = K;
    args.y = y->raw_data();
    args.ldy = N;
    args.x_zero_point = q.x_zero_point;
    // ORT's requantization in the kernel's epilogue, exactly: with x_scale 1
    // and ORT's multipliers as the channel scales the epilogue forms
    // float(acc) * mult (1 * mult is mult), and with y_scale 1 it rounds
    // that half-to-even, adds the zero point and saturates (requantize<uint8_t>).
    // The int32 tile stays in L1 (a separate pass read 1.5 MB of accumulators
    // back per BERT-base FFN1 call).
    args.x_scale = 1.f;
    args.w_scales = q.mult.data();
    args.w_scales_count = static_cast<int64_t>(q.mult.size());
    args.y_scale = 1.f;
    args.y_zero_point = q.y_zero_point;
    return spmm->run(args, threads);
  });
}

}  // namespace

void register_sparse_impls(OpRegistry& r) {
  r.add_impl("", "MatMul", {"sparse_linear_f32", sparse_matmul_f32});
  r.add_impl("", "Gemm", {"sparse_linear_f32", sparse_gemm_f32});
  r.add_impl(kSparsertDomain, "Linear", {"sparse_linear_f32", sparse_linear_fused});
  r.add_impl(kSparsertDomain, "IntegerLinear", {"sparse_integer_linear_u8s8", sparse_integer_linear});
  r.add_impl("", "MatMulInteger", {"sparse_matmul_integer_u8s8", sparse_matmul_integer_u8s8});
  r.add_impl("", "QLinearMatMul", {"sparse_qlinear_matmul_u8s8", sparse_qlinear_matmul_u8s8});
}

}  // namespace sparsert
