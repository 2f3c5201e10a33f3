// MatMul (numpy semantics: 1-D promotion, batch broadcasting) and Gemm.
// Reference kernels: i-k-j loop order so the inner loop is contiguous.
#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

// C[m,n] (+)= A[m,k] * B[k,n] with leading dimensions lda/ldb/ldc and optional transposes.
void gemm_ref(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B,
              int64_t ldb, bool trans_b, float alpha, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    for (int64_t k = 0; k < K; ++k) {
      float a = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
      if (a == 0.f) continue;
      if (!trans_b) {
        const float* b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      } else {
        for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + k];
      }
    }
  }
}

Status matmul_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  SPARSERT_ASSIGN_OR_RETURN(MatmulShapes m, matmul_shapes(ctx.node(), a, b));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kFloat32, m.out));
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = out->data<float>();
  m.for_each_batch([&](int64_t bi, int64_t oa, int64_t ob) {
    gemm_ref(m.M, m.N, m.K, pa + oa * m.M * m.K, m.K, false, pb + ob * m.K * m.N, m.N, false, 1.f,
             pc + bi * m.M * m.N, m.N);
  });
  return Status::OK();
}

Status gemm_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kFloat32}));
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(1);
  const Tensor* c = ctx.input(2);
  if (a.rank() != 2 || b.rank() != 2)
    return InvalidArgument(ctx.node().describe(), ": Gemm needs 2-D A and B, got ", a.type_string(), " and ",
                           b.type_string());
  SPARSERT_ASSIGN_OR_RETURN(int64_t ta, ctx.attrs().get_int("transA", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t tb, ctx.attrs().get_int("transB", 0));
  SPARSERT_ASSIGN_OR_RETURN(float alpha, ctx.attrs().get_float("alpha", 1.f));
  SPARSERT_ASSIGN_OR_RETURN(float beta, ctx.attrs().get_float("beta", 1.f));
  const int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1);
  const int64_t N = tb ? b.dim(0) : b.dim(1), Kb = tb ? b.dim(1) : b.dim(0);
  if (K != Kb)
    return InvalidArgument(ctx.node().describe(), ": inner dimensions differ: A is ", a.type_string(),
                           (ta ? " (transposed)" : ""), ", B is ", b.type_string(), (tb ? " (transposed)" : ""));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kFloat32, {M, N}));
  float* pc = out->data<float>();
  if (c && beta != 0.f) {
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 2, {DType::kFloat32}));
    auto bs = broadcast_shapes(c->shape(), {M, N});
    if (!bs.ok() || *bs != Shape{M, N})
      return InvalidArgument(ctx.node().describe(), ": C of shape ", shape_to_string(c->shape()),
                             " does not broadcast to ", shape_to_string({M, N}));
    std::vector<std::vector<int64_t>> st = {broadcast_strides(c->shape(), {M, N})};
    for_each_broadcast({M, N}, st, [&](int64_t i, const std::vector<int64_t>& off) {
      pc[i] = beta * c->data<float>()[off[0]];
    });
  }
  gemm_ref(M, N, K, a.data<float>(), a.dim(1), ta != 0, b.data<float>(), b.dim(1), tb != 0, alpha, pc, N);
  return Status::OK();
}

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  r.add({"", "MatMul", 2, 2, 1, 1, matmul_kernel});
  r.add({"", "Gemm", 2, 3, 1, 1, gemm_kernel});
}

}  // namespace sparsert
