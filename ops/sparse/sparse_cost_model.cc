#include "ops/sparse/sparse_cost_model.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "jit/isa.h"
#include "jit/spmm/dense_u8s8.h"

namespace sparsert {
namespace {

// Cost of one stored weight of the sparse kernel per activation row, relative
// to one multiply-add of the dense path, calibrated on Zen 3 (AVX2, 1 thread,
// M = 128, BERT-base shapes) with `perf/spmm_report.py`:
//   f32 unstructured vs oneDNN/OpenBLAS sgemm: 90% -> 0.25x the dense time,
//     70% -> 0.57-0.74x: ~2.4 per stored weight (crossover near 58% sparsity).
//   f32 4-row bands on 4x1-pruned W: 90% -> 0.13-0.14x, 50% -> 0.52-0.55x:
//     1.0-1.4 per stored weight (each tile row feeds 4 rows' FMAs from registers).
//   u8s8 4x1 bands vs oneDNN u8s8: 90% -> 0.19-0.29x: ~2.2 (padding included).
//   u8s8 1-row bands (1x4 / unstructured): 90% -> 0.57x: ~5.7.
//   u8s8 1x4 quads (k_block 4, AVX512_VNNI, Zen 5) vs oneDNN u8s8 on
//     1x4-pruned W: 90% -> 0.26x, 70% -> 0.61x: ~2.0-2.6.
//   u8s8 1x4 pairs (k_block 2 without VNNI; AVX2 code on Zen 5) vs oneDNN
//     u8s8 capped to AVX2, 768 x 768: 90% -> 0.20x, 70% -> 0.53x: ~1.8-2.0.
// The plain C++ kernels (no AVX2) are ~3x slower than the JIT ones.
constexpr double kF32PerWeight = 2.4;
constexpr double kF32Band4PerWeight = 1.3;
constexpr double kS8Band4PerWeight = 2.2;
constexpr double kS8Band1PerWeight = 5.7;
constexpr double kS8KQuadPerWeight = 2.6;
constexpr double kS8KPairPerWeight = 2.0;
constexpr double kGenericPenalty = 3.0;
// Without VNNI oneDNN's u8s8 is exact only for weights in [-64, 63]; other
// int8 weights take the exact int16 kernel (fast_matmul_integer_i16), ~3x
// slower than oneDNN u8s8 (BERT-base dynamic int8, Zen 3: the SpMM kernel at
// full density ran the model in 306 ms against the int16 kernel's 404 ms).
constexpr double kInt16DenseCost = 3.0;
// The exact dense u8s8 tiles (SpmmLayout::kDenseTiles, vpmaddubsw on pairs
// that cannot saturate): per multiply-add relative to oneDNN u8s8 (0.8-0.95x
// its speed on the BERT shapes, perf/spmm_report.py), and per entry of the
// remainder: in scalar code one multiply-add per activation row, ~70x a
// vector lane's (QDQ BERT's per-channel weights, 2% entries, doubled the
// layer's time that way); on the 1-row bands an isolated entry padded to a pair.
constexpr double kS8DenseTileCost = 1.2;
constexpr double kS8TileScalarFixCost = 70.0;
constexpr double kS8TileBandFixCost = 2 * kS8Band1PerWeight;
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

// Non-zeros of W and what each packing stores, in one pass in memory order
// (W often comes as [K, N]: stride_n = 1). 4-row bands keep every column any of
// their rows needs.
struct StoredCounts {
  int64_t nnz = 0;
  int64_t stored4 = 0, stored4_pairs = 0;  // 4-row bands; lists padded to pairs (u8s8)
  int64_t stored1_pairs = 0;               // 1-row bands, lists padded to pairs (u8s8)
};

// Weights the 1x4 blocks' packing stores: `size` (4: quads, 2: pairs) per
// aligned K block of a row holding a non-zero.
int64_t count_stored_k_blocks(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k, int64_t size) {
  int64_t blocks = 0;
  if (stride_n >= stride_k) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t c0 = 0; c0 < k; c0 += size) {
        bool any = false;
        for (int64_t c = c0; c < std::min(k, c0 + size); ++c) any |= w[r * stride_n + c * stride_k] != 0;
        blocks += any;
      }
  } else {  // [K, N]: a row's block is `size` rows of memory apart
    std::vector<uint8_t> any(static_cast<size_t>(n), 0);
    for (int64_t c = 0; c < k; ++c) {
      for (int64_t r = 0; r < n; ++r) any[static_cast<size_t>(r)] |= w[r * stride_n + c * stride_k] != 0;
      if (c % size == size - 1 || c == k - 1)
        for (uint8_t& a : any) blocks += a, a = 0;
    }
  }
  return size * blocks;
}

template <typename T>
StoredCounts count_stored(const T* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k) {
  const int64_t bands = (n + 3) / 4;
  std::vector<int64_t> band_cols(static_cast<size_t>(bands), 0), row_nnz(static_cast<size_t>(n), 0);
  auto visit = [&](int64_t b, int64_t c) {
    bool any = false;
    for (int64_t r = 4 * b; r < std::min(n, 4 * b + 4); ++r) {
      const bool nz = w[r * stride_n + c * stride_k] != T(0);
      row_nnz[static_cast<size_t>(r)] += nz;
      any |= nz;
    }
    band_cols[static_cast<size_t>(b)] += any;
  };
  if (stride_n >= stride_k) {
    for (int64_t b = 0; b < bands; ++b)
      for (int64_t c = 0; c < k; ++c) visit(b, c);
  } else {
    for (int64_t c = 0; c < k; ++c)
      for (int64_t b = 0; b < bands; ++b) visit(b, c);
  }
  StoredCounts s;
  for (int64_t cols : band_cols) {
    s.stored4 += 4 * cols;
    s.stored4_pairs += 4 * (cols + cols % 2);
  }
  for (int64_t z : row_nnz) {
    s.nnz += z;
    s.stored1_pairs += z + z % 2;
  }
  return s;
}

}  // namespace

SparseChoice choose_sparse_f32(const float* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                               uint32_t isa_cap, const SparsePolicy& policy) {
  const StoredCounts s = count_stored(w, n, k, stride_n, stride_k);
  const double total = static_cast<double>(n * k);
  const double penalty = jit::may_use(jit::kIsaAvx2, isa_cap) ? 1.0 : kGenericPenalty;
  const double ratio1 = static_cast<double>(s.nnz) / total * kF32PerWeight * penalty;
  const double ratio4 = static_cast<double>(s.stored4) / total * kF32Band4PerWeight * penalty;
  SparseChoice c;
  c.band_rows = ratio4 < ratio1 ? 4 : 1;
  return decide(1.0 - static_cast<double>(s.nnz) / total, std::min(ratio4, ratio1), policy, c);
}

SparseChoice choose_sparse_s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                              uint32_t isa_cap, const SparsePolicy& policy) {
  const StoredCounts s = count_stored(w, n, k, stride_n, stride_k);
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
  const double ratio4 = static_cast<double>(s.stored4_pairs) / total * kS8Band4PerWeight * penalty / dense;
  const double ratio1 = static_cast<double>(s.stored1_pairs) / total * kS8Band1PerWeight * penalty / dense;
  // 1x4 blocks (k_block 4): aligned K quads on the VNNI quad kernels, else
  // aligned K pairs. Half-empty pairs (unstructured W) cost about twice as
  // much per stored weight as full ones (their groups scatter over the tile
  // instead of running through it in pairs of rows): times stored / nnz.
  // AVX2 code on Zen 5, 768 x 768 M=128: unstructured 90% 407 us (0.73 of
  // the capped oneDNN; this gives 0.72) vs 367 on the pair kernel (0.57).
  const bool vnni_quads = jit::may_use(jit::kIsaAvx512Vnni, isa_cap);
  const double stored_k = static_cast<double>(count_stored_k_blocks(w, n, k, stride_n, stride_k, vnni_quads ? 4 : 2));
  const double pair_fill = s.nnz > 0 ? stored_k / static_cast<double>(s.nnz) : 1.0;
  const double ratio_k4 =
      stored_k / total * (vnni_quads ? kS8KQuadPerWeight : kS8KPairPerWeight * pair_fill * penalty) / dense;
  SparseChoice c;
  c.band_rows = ratio4 <= std::min(ratio1, ratio_k4) ? 4 : 1;
  c.k_block = c.band_rows == 1 && ratio_k4 < ratio1 ? 4 : 1;
  const double sparsity = 1.0 - static_cast<double>(s.nnz) / total;
  c = decide(sparsity, std::min({ratio4, ratio1, ratio_k4}), policy, c);
  // The dense tiles where oneDNN would not be exact: a dense kernel, so they
  // stand in for the slow int16 fallback whenever the bands are not chosen or
  // (cost model) are slower.
  if (onednn_exact || policy.mode == SparseMode::kAlways) return c;
  const int64_t fixes = jit::count_dense_u8s8_fixes(w, n, k, stride_n, stride_k);
  const double fix_cost = jit::dense_u8s8_remainder_on_bands(fixes, n) ? kS8TileBandFixCost : kS8TileScalarFixCost;
  const double tiles = (kS8DenseTileCost + static_cast<double>(fixes) / total * fix_cost) * penalty / dense;
  const bool bands_by_model = policy.mode == SparseMode::kAuto && policy.sparsity_threshold < 0.0;
  if (tiles > kMaxRatio || (c.sparse && !(bands_by_model && tiles < c.estimated_ratio))) return c;
  c.sparse = true;
  c.layout = jit::SpmmLayout::kDenseTiles;
  c.why = c.why + fmt("; dense tiles instead (estimated %.2f of the int16 kernel; %.0f K pairs could saturate)", tiles,
                      static_cast<double>(fixes));
  c.estimated_ratio = tiles;
  return c;
}

}  // namespace sparsert
