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
  if (a.rank() == 0 || b.rank() == 0)
    return InvalidArgument(ctx.node().describe(), ": MatMul inputs must have rank >= 1, got ", a.type_string(), " and ",
                           b.type_string());
  Shape sa = a.shape(), sb = b.shape();
  const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  if (sb[sb.size() - 2] != K)
    return InvalidArgument(ctx.node().describe(), ": inner dimensions differ: A is ", a.type_string(), ", B is ",
                           b.type_string());
  Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
  auto batch = broadcast_shapes(batch_a, batch_b);
  if (!batch.ok()) return batch.status().with_context(ctx.node().describe() + " batch dimensions");
  Shape out_shape = *batch;
  if (!a_vec) out_shape.push_back(M);
  if (!b_vec) out_shape.push_back(N);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kFloat32, out_shape));
  Shape full = *batch;
  std::vector<std::vector<int64_t>> strides = {broadcast_strides(batch_a, full), broadcast_strides(batch_b, full)};
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* pc = out->data<float>();
  auto one = [&](int64_t bi, int64_t oa, int64_t ob) {
    gemm_ref(M, N, K, pa + oa * M * K, K, false, pb + ob * K * N, N, false, 1.f, pc + bi * M * N, N);
  };
  if (full.empty()) one(0, 0, 0);
  else for_each_broadcast(full, strides, [&](int64_t i, const std::vector<int64_t>& off) { one(i, off[0], off[1]); });
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
