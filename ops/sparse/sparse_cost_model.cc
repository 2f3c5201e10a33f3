#include "ops/sparse/sparse_cost_model.h"

#include <cstdio>

#include "jit/isa.h"

namespace sparsert {
namespace {

// Cost of one stored weight of the sparse kernel per activation row, relative
// to one multiply-add of the dense path, calibrated on Zen 3 (AVX2, 1 thread,
// M = 128, BERT-base shapes) with `perf/spmm_report.py`:
//   f32 unstructured vs oneDNN/OpenBLAS sgemm: 90% -> 0.25x the dense time,
//     70% -> 0.57-0.74x: ~2.4 per stored weight (crossover near 58% sparsity).
//   u8s8 4x1 bands vs oneDNN u8s8: 90% -> 0.19-0.29x: ~2.2 (padding included).
//   u8s8 1-row bands (1x4 / unstructured): 90% -> 0.57x: ~5.7.
// The plain C++ kernels (no AVX2) are ~3x slower than the JIT ones.
constexpr double kF32PerWeight = 2.4;
constexpr double kS8Band4PerWeight = 2.2;
constexpr double kS8Band1PerWeight = 5.7;
constexpr double kGenericPenalty = 3.0;
// Without VNNI oneDNN's u8s8 is exact only for weights in [-64, 63]; other
// int8 weights take the exact int16 kernel (fast_matmul_integer_i16), ~3x
// slower than oneDNN u8s8 (BERT-base dynamic int8, Zen 3: the SpMM kernel at
// full density ran the model in 306 ms against the int16 kernel's 404 ms).
constexpr double kInt16DenseCost = 3.0;
// Sparse only with an expected gain of 10% or more: no coin flips on noise.
constexpr double kMaxRatio = 0.9;

std::string fmt(const char* f, double a, double b) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

SparseChoice decide(double sparsity, double ratio, const SparsePolicy& policy, SparseChoice c) {
  c.estimated_ratio = ratio;
  if (policy.mode == SparseMode::kNever) {
    c.sparse = false;
    c.why = "sparse kernels disabled by the session options";
  } else if (policy.mode == SparseMode::kAlways) {
    c.sparse = true;
    c.why = "sparse kernels forced by the session options";
  } else if (policy.sparsity_threshold >= 0.0) {
    c.sparse = sparsity >= policy.sparsity_threshold;
    c.why = fmt("sparsity %.3f vs the session's threshold %.3f", sparsity, policy.sparsity_threshold);
  } else {
    c.sparse = ratio <= kMaxRatio;
    c.why = fmt("sparsity %.3f, estimated sparse/dense time %.2f (sparse when <= 0.9)", sparsity, ratio);
  }
  return c;
}

}  // namespace

SparseChoice choose_sparse_f32(const float* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                               uint32_t isa_cap, const SparsePolicy& policy) {
  // Walk in memory order (W often comes as [K, N]: stride_n = 1).
  int64_t nnz = 0;
  if (stride_n >= stride_k) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c = 0; c < k; ++c) nnz += w[r * stride_n + c * stride_k] != 0.f;
  } else {
    for (int64_t c = 0; c < k; ++c)
      for (int64_t r = 0; r < n; ++r) nnz += w[r * stride_n + c * stride_k] != 0.f;
  }
  const double density = static_cast<double>(nnz) / static_cast<double>(n * k);
  double per_weight = kF32PerWeight;
  if (!jit::may_use(jit::kIsaAvx2, isa_cap)) per_weight *= kGenericPenalty;
  return decide(1.0 - density, density * per_weight, policy, SparseChoice{});
}

SparseChoice choose_sparse_s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                              uint32_t isa_cap, const SparsePolicy& policy) {
  // Stored weights of each packing: 4-row bands keep every column any of the 4
  // rows needs; 1-row bands keep the non-zeros; both pad lists to pairs.
  int64_t nnz = 0, stored4 = 0, stored1 = 0;
  for (int64_t b = 0; b < (n + 3) / 4; ++b) {
    int64_t cols = 0;
    int64_t row_nnz[4] = {0, 0, 0, 0};
    for (int64_t c = 0; c < k; ++c) {
      bool any = false;
      for (int64_t r = 0; r < 4 && 4 * b + r < n; ++r) {
        const bool nz = w[(4 * b + r) * stride_n + c * stride_k] != 0;
        row_nnz[r] += nz;
        any |= nz;
      }
      cols += any;
    }
    stored4 += 4 * (cols + cols % 2);
    for (int64_t r = 0; r < 4; ++r) {
      nnz += row_nnz[r];
      stored1 += row_nnz[r] + row_nnz[r] % 2;
    }
  }
  const double total = static_cast<double>(n * k);
  const double penalty = jit::may_use(jit::kIsaAvx2, isa_cap) ? 1.0 : kGenericPenalty;
  // The dense path this layer would otherwise take.
  bool seven_bit = true;
  for (int64_t r = 0; r < n && seven_bit; ++r)
    for (int64_t c = 0; c < k; ++c) {
      const int8_t v = w[r * stride_n + c * stride_k];
      if (v < -64 || v > 63) {
        seven_bit = false;
        break;
      }
    }
  const bool onednn_exact = seven_bit || jit::may_use(jit::kIsaAvx512Vnni, isa_cap) || jit::may_use(jit::kIsaAvxVnni, isa_cap);
  const double dense = onednn_exact ? 1.0 : kInt16DenseCost;
  const double ratio4 = static_cast<double>(stored4) / total * kS8Band4PerWeight * penalty / dense;
  const double ratio1 = static_cast<double>(stored1) / total * kS8Band1PerWeight * penalty / dense;
  SparseChoice c;
  c.band_rows = ratio4 <= ratio1 ? 4 : 1;
  return decide(1.0 - static_cast<double>(nnz) / total, std::min(ratio4, ratio1), policy, c);
}

}  // namespace sparsert
