// Exact int8 MatMulInteger for CPUs where oneDNN's int8 path could saturate
// (no VNNI, full-range weights: what ORT's quantize_dynamic writes by default).
// B (constant, int8 or uint8) is packed once as int16 [N, Kp] with its zero
// point already subtracted; each run widens A's rows to int16 minus A's zero
// point, and multiplies with vpmaddwd (int16 pairs summed exactly into int32),
// four rows of A against each row of B so B streams from cache M/4 times.
// Named fast_matmul_integer_i16; tried after onednn_matmul_u8s8. The same
// product serves QLinearMatMul (fast_qlinear_matmul_i16), requantized as ORT does.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "jit/isa.h"
#include "ops/fast/vector_math.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

constexpr int64_t kRows = 4;   // rows of A per pass over B
constexpr int64_t kAlignK = 16;  // int16 lanes of a ymm

struct PackedB {
  int64_t K = 0, N = 0, Kp = 0;
  std::vector<int16_t> data;  // [N][Kp], B[k][n] - zp[n], zero padded
};

// Four dot products of int16 rows against one B row, exact in int32.
__attribute__((target("avx2"))) void dot4_avx2(const int16_t* a, int64_t lda, const int16_t* b, int64_t kp, int rows,
                                               int32_t* out) {
  __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  for (int64_t k = 0; k < kp; k += kAlignK) {
    const __m256i bv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + k));
    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + k)), bv));
    if (rows > 1)
      acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + lda + k)), bv));
    if (rows > 2)
      acc2 = _mm256_add_epi32(acc2,
                              _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 2 * lda + k)), bv));
    if (rows > 3)
      acc3 = _mm256_add_epi32(acc3,
                              _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + 3 * lda + k)), bv));
  }
  const __m256i accs[4] = {acc0, acc1, acc2, acc3};
  for (int r = 0; r < rows; ++r) {
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), accs[r]);
    int32_t s = 0;
    for (int32_t v : lanes) s += v;
    out[r] = s;
  }
}

void dot4_generic(const int16_t* a, int64_t lda, const int16_t* b, int64_t kp, int rows, int32_t* out) {
  for (int r = 0; r < rows; ++r) {
    int32_t s = 0;
    for (int64_t k = 0; k < kp; ++k) s += static_cast<int32_t>(a[r * lda + k]) * b[k];
    out[r] = s;
  }
}

// B (input b_index, constant int8/uint8 2-D) packed with its zero point (input
// zp_index: absent, per tensor or per column) subtracted.
StatusOr<std::shared_ptr<const PackedB>> pack_b(const Node& n, const Graph& g, size_t b_index, size_t zp_index) {
  const Tensor* b = constant_input(n, g, b_index);
  if (!b) return Unimplemented("B is not a constant");
  if ((b->dtype() != DType::kInt8 && b->dtype() != DType::kUInt8) || b->rank() != 2)
    return Unimplemented("B is ", b->type_string(), ", needs 2-D int8/uint8");
  const Tensor* bz = nullptr;
  if (n.inputs.size() > zp_index && n.inputs[zp_index] != kNoValue) {
    bz = constant_input(n, g, zp_index);
    if (!bz) return Unimplemented("B zero point is not a constant");
  }
  auto packed = std::make_shared<PackedB>();
  packed->K = b->dim(0);
  packed->N = b->dim(1);
  packed->Kp = (packed->K + kAlignK - 1) / kAlignK * kAlignK;
  if (bz && bz->num_elements() != 1 && bz->num_elements() != packed->N)
    return Unimplemented("B zero point ", bz->type_string(), " is neither per tensor nor per column");
  packed->data.assign(static_cast<size_t>(packed->N * packed->Kp), 0);
  for (int64_t c = 0; c < packed->N; ++c) {
    const int32_t zp = bz ? static_cast<int32_t>(bz->element_as_int64(bz->num_elements() == 1 ? 0 : c)) : 0;
    for (int64_t k = 0; k < packed->K; ++k) {
      const int64_t i = k * packed->N + c;
      const int32_t v = b->dtype() == DType::kInt8 ? b->data<int8_t>()[i] : b->data<uint8_t>()[i];
      packed->data[static_cast<size_t>(c * packed->Kp + k)] = static_cast<int16_t>(v - zp);
    }
  }
  return std::shared_ptr<const PackedB>(packed);
}

// y[M, N] = (a - a_zp) * B exactly, M = a's elements / K (a int8 or uint8).
void int16_matmul(const Tensor& a, int32_t zp, const PackedB& packed, bool avx2, int32_t* py) {
  const int64_t M = a.num_elements() / std::max<int64_t>(packed.K, 1), K = packed.K, Kp = packed.Kp, N = packed.N;
  const bool is_u8 = a.dtype() == DType::kUInt8;
  parallel_for((M + kRows - 1) / kRows, 1, [&](int64_t b0, int64_t b1) {
    std::vector<int16_t> rows(static_cast<size_t>(kRows * Kp), 0);
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t m0 = blk * kRows;
      const int nr = static_cast<int>(std::min<int64_t>(kRows, M - m0));
      for (int r = 0; r < nr; ++r)
        for (int64_t k = 0; k < K; ++k) {
          const int64_t i = (m0 + r) * K + k;
          const int32_t v = is_u8 ? a.data<uint8_t>()[i] : a.data<int8_t>()[i];
          rows[static_cast<size_t>(r * Kp + k)] = static_cast<int16_t>(v - zp);
        }
      int32_t dots[kRows];
      for (int64_t c = 0; c < N; ++c) {
        const int16_t* brow = packed.data.data() + c * Kp;
        if (avx2) dot4_avx2(rows.data(), Kp, brow, Kp, nr, dots);
        else dot4_generic(rows.data(), Kp, brow, Kp, nr, dots);
        for (int r = 0; r < nr; ++r) py[(m0 + r) * N + c] = dots[r];
      }
    }
  });
}

Shape product_shape(const Tensor& a, int64_t N) {
  Shape out(a.shape().begin(), a.shape().end() - 1);
  out.push_back(N);
  return out;
}

StatusOr<KernelFn> matmul_integer_i16(const Node& n, const Graph& g, const ImplContext& ictx) {
  SPARSERT_ASSIGN_OR_RETURN(auto packed, pack_b(n, g, 1, 3));
  const bool avx2 = jit::may_use(jit::kIsaAvx2, ictx.isa_cap);
  KernelFn ref = reference_kernel(n);
  return KernelFn([packed, avx2, ref](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    const Tensor* a_zp = ctx.input(2);
    if ((a.dtype() != DType::kUInt8 && a.dtype() != DType::kInt8) || a.rank() < 1 || a.shape().back() != packed->K)
      return ref(ctx);
    if (a_zp && a_zp->num_elements() != 1) return ref(ctx);  // per-row A zero points: reference
    const int32_t zp = a_zp ? static_cast<int32_t>(a_zp->element_as_int64(0)) : 0;
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt32, product_shape(a, packed->N),
                                                              OutputInit::kOverwritten));
    int16_matmul(a, zp, *packed, avx2, y->data<int32_t>());
    return Status::OK();
  });
}

// QLinearMatMul with constant scales and uint8 zero points: the exact product,
// then ORT's requantization (fast::requantize_u8_rows).
StatusOr<KernelFn> qlinear_matmul_i16(const Node& n, const Graph& g, const ImplContext& ictx) {
  SPARSERT_ASSIGN_OR_RETURN(auto packed, pack_b(n, g, 3, 5));
  SPARSERT_ASSIGN_OR_RETURN(QLinearConstants q, qlinear_constants(n, g, packed->N));
  const bool avx2 = jit::may_use(jit::kIsaAvx2, ictx.isa_cap);
  KernelFn ref = reference_kernel(n);
  return KernelFn([packed, q, avx2, ref](KernelContext& ctx) -> Status {
    const Tensor& a = *ctx.input(0);
    if (a.dtype() != DType::kUInt8 || a.rank() < 1 || a.shape().back() != packed->K) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kUInt8, product_shape(a, packed->N),
                                                              OutputInit::kOverwritten));
    const int64_t M = a.num_elements() / std::max<int64_t>(packed->K, 1);
    std::vector<int32_t> acc(static_cast<size_t>(M * packed->N));
    int16_matmul(a, q.x_zero_point, *packed, avx2, acc.data());
    fast::requantize_u8_rows(acc.data(), M, packed->N, q.mult.data(), q.y_zero_point, y->data<uint8_t>());
    return Status::OK();
  });
}

}  // namespace

void register_fast_int8_impls(OpRegistry& r) {
  r.add_impl("", "MatMulInteger", {"fast_matmul_integer_i16", matmul_integer_i16});
  r.add_impl("", "QLinearMatMul", {"fast_qlinear_matmul_i16", qlinear_matmul_i16});
}

}  // namespace sparsert
