// The 6x16 AVX2+FMA register tile of the dense f32 GEMM (gemm_f32_avx2.cc),
// shared with the fused attention kernel (attention_fast.cc), which runs it on
// per-head panels of K^T and V. Only include from files whose callers checked
// gemm_f32_avx2_available(): the tile is compiled for AVX2+FMA by its target
// attribute, so the including file itself stays baseline x86-64.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "ops/fast/gemm_f32.h"

namespace sparsert::fast::gemm_tile {

inline constexpr int kMr = 6;
inline constexpr int kNr = PackedWeightsF32::kPanel;

// C[MR x 16] (+)= A[MR x kc] * B[kc x 16], A packed k-major (a[k*MR + r]) so the
// six broadcasts of a step read one cache line, or with kRowsA its rows in
// place, lda apart (a[r*lda + k]: for A that is small and hot, where packing
// would cost more than the six lines per step); `first` starts from init (bias or 0).
// Columns past `cols` (the last panel's padding) are not stored. The 12
// accumulators are named variables, not an array: GCC keeps an indexed
// __m256 array on the stack and reloads it every k (measured: 27 vs ~80 GFLOP/s).
template <int MR, bool kRowsA = false>
__attribute__((target("avx2,fma"))) void tile(const float* a, const float* b, int64_t kc, float* c, int64_t ldc,
                                              bool first, const float* init, int cols, int64_t lda = 0) {
  __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  auto load_row = [&](int r, __m256& lo, __m256& hi) __attribute__((target("avx2,fma"))) {
    if (r >= MR) return;
    if (!first) {
      if (cols == kNr) {
        lo = _mm256_loadu_ps(c + r * ldc);
        hi = _mm256_loadu_ps(c + r * ldc + 8);
      } else {
        alignas(32) float tmp[kNr] = {};
        for (int j = 0; j < cols; ++j) tmp[j] = c[r * ldc + j];
        lo = _mm256_load_ps(tmp);
        hi = _mm256_load_ps(tmp + 8);
      }
    } else if (init) {
      lo = _mm256_loadu_ps(init);
      hi = _mm256_loadu_ps(init + 8);
    } else {
      lo = _mm256_setzero_ps();
      hi = _mm256_setzero_ps();
    }
  };
  load_row(0, c00, c01);
  load_row(1, c10, c11);
  load_row(2, c20, c21);
  load_row(3, c30, c31);
  load_row(4, c40, c41);
  load_row(5, c50, c51);
  // Element (r, k) of A is at a[r * step_r] after k steps of step_k.
  const int64_t step_r = kRowsA ? lda : 1, step_k = kRowsA ? 1 : MR;
  for (int64_t k = 0; k < kc; ++k, a += step_k) {
    const __m256 b0 = _mm256_load_ps(b + k * kNr);
    const __m256 b1 = _mm256_load_ps(b + k * kNr + 8);
    __m256 av;
    av = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    if constexpr (MR > 1) {
      av = _mm256_broadcast_ss(a + 1 * step_r);
      c10 = _mm256_fmadd_ps(av, b0, c10);
      c11 = _mm256_fmadd_ps(av, b1, c11);
    }
    if constexpr (MR > 2) {
      av = _mm256_broadcast_ss(a + 2 * step_r);
      c20 = _mm256_fmadd_ps(av, b0, c20);
      c21 = _mm256_fmadd_ps(av, b1, c21);
    }
    if constexpr (MR > 3) {
      av = _mm256_broadcast_ss(a + 3 * step_r);
      c30 = _mm256_fmadd_ps(av, b0, c30);
      c31 = _mm256_fmadd_ps(av, b1, c31);
    }
    if constexpr (MR > 4) {
      av = _mm256_broadcast_ss(a + 4 * step_r);
      c40 = _mm256_fmadd_ps(av, b0, c40);
      c41 = _mm256_fmadd_ps(av, b1, c41);
    }
    if constexpr (MR > 5) {
      av = _mm256_broadcast_ss(a + 5 * step_r);
      c50 = _mm256_fmadd_ps(av, b0, c50);
      c51 = _mm256_fmadd_ps(av, b1, c51);
    }
  }
  auto store_row = [&](int r, __m256 lo, __m256 hi) __attribute__((target("avx2,fma"))) {
    if (r >= MR) return;
    if (cols == kNr) {
      _mm256_storeu_ps(c + r * ldc, lo);
      _mm256_storeu_ps(c + r * ldc + 8, hi);
    } else {
      alignas(32) float tmp[kNr];
      _mm256_store_ps(tmp, lo);
      _mm256_store_ps(tmp + 8, hi);
      for (int j = 0; j < cols; ++j) c[r * ldc + j] = tmp[j];
    }
  };
  store_row(0, c00, c01);
  store_row(1, c10, c11);
  store_row(2, c20, c21);
  store_row(3, c30, c31);
  store_row(4, c40, c41);
  store_row(5, c50, c51);
}

// By row count: kTiles for packed A, kRowsTiles for A in place (lda: its row stride).
using TileFn = void (*)(const float* a, const float* b, int64_t kc, float* c, int64_t ldc, bool first,
                        const float* init, int cols, int64_t lda);
inline constexpr TileFn kTiles[kMr + 1] = {nullptr, tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};
inline constexpr TileFn kRowsTiles[kMr + 1] = {nullptr,       tile<1, true>, tile<2, true>, tile<3, true>,
                                               tile<4, true>, tile<5, true>, tile<6, true>};

}  // namespace sparsert::fast::gemm_tile
