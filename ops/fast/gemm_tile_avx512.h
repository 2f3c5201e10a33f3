// The 6x16 register tile of gemm_tile_avx2.h on AVX-512: one zmm per tile row
// (the 16-column panel) instead of two ymm, so a k step is 6 FMAs, not 12.
// Same operands, same FMA order per output element: the same floats as the
// AVX2 tile. Only include from files whose callers checked AVX-512 is allowed
// (jit::may_use(jit::kIsaAvx512, cap)); the tile's target attribute compiles it
// for AVX-512 while the including file stays baseline x86-64.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "ops/fast/gemm_tile_avx2.h"

namespace sparsert::fast::gemm_tile {

// As tile<MR, kRowsA> (gemm_tile_avx2.h). Partial panels use masked loads and
// stores. The accumulators are named variables (see there).
template <int MR, bool kRowsA = false>
__attribute__((target("avx512f,fma"))) void tile_avx512(const float* a, const float* b, int64_t kc, float* c,
                                                        int64_t ldc, bool first, const float* init, int cols,
                                                        int64_t lda = 0) {
  const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1);
  __m512 c0, c1, c2, c3, c4, c5;
  auto load_row = [&](int r, __m512& acc) __attribute__((target("avx512f,fma"))) {
    if (r >= MR) return;
    if (!first) acc = _mm512_maskz_loadu_ps(mask, c + r * ldc);
    else if (init) acc = _mm512_loadu_ps(init);
    else acc = _mm512_setzero_ps();
  };
  load_row(0, c0);
  load_row(1, c1);
  load_row(2, c2);
  load_row(3, c3);
  load_row(4, c4);
  load_row(5, c5);
  const int64_t step_r = kRowsA ? lda : 1, step_k = kRowsA ? 1 : MR;
  for (int64_t k = 0; k < kc; ++k, a += step_k) {
    const __m512 bv = _mm512_load_ps(b + k * kNr);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a[0]), bv, c0);
    if constexpr (MR > 1) c1 = _mm512_fmadd_ps(_mm512_set1_ps(a[1 * step_r]), bv, c1);
    if constexpr (MR > 2) c2 = _mm512_fmadd_ps(_mm512_set1_ps(a[2 * step_r]), bv, c2);
    if constexpr (MR > 3) c3 = _mm512_fmadd_ps(_mm512_set1_ps(a[3 * step_r]), bv, c3);
    if constexpr (MR > 4) c4 = _mm512_fmadd_ps(_mm512_set1_ps(a[4 * step_r]), bv, c4);
    if constexpr (MR > 5) c5 = _mm512_fmadd_ps(_mm512_set1_ps(a[5 * step_r]), bv, c5);
  }
  auto store_row = [&](int r, __m512 acc) __attribute__((target("avx512f,fma"))) {
    if (r < MR) _mm512_mask_storeu_ps(c + r * ldc, mask, acc);
  };
  store_row(0, c0);
  store_row(1, c1);
  store_row(2, c2);
  store_row(3, c3);
  store_row(4, c4);
  store_row(5, c5);
}

// Two adjacent panels at once (b and b + b_stride; C columns 0..15 and
// 16..16 + cols2), A rows in place (lda apart), C = A B from zero: 2 panel
// loads and MR broadcasts feed 2 x MR FMAs (the one-panel tile's broadcasts
// made it load-bound: 7 loads per 6 FMAs). Same FMA order: same floats.
template <int MR>
__attribute__((target("avx512f,fma"))) void tile2_avx512(const float* a, const float* b, int64_t b_stride, int64_t kc,
                                                         float* c, int64_t ldc, int cols2, int64_t lda) {
  const __mmask16 mask2 = static_cast<__mmask16>((1u << cols2) - 1);
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  const float* b1 = b + b_stride;
  for (int64_t k = 0; k < kc; ++k, ++a) {
    const __m512 b0v = _mm512_load_ps(b + k * kNr), b1v = _mm512_load_ps(b1 + k * kNr);
    __m512 av = _mm512_set1_ps(a[0]);
    c00 = _mm512_fmadd_ps(av, b0v, c00);
    c01 = _mm512_fmadd_ps(av, b1v, c01);
    if constexpr (MR > 1) {
      av = _mm512_set1_ps(a[1 * lda]);
      c10 = _mm512_fmadd_ps(av, b0v, c10);
      c11 = _mm512_fmadd_ps(av, b1v, c11);
    }
    if constexpr (MR > 2) {
      av = _mm512_set1_ps(a[2 * lda]);
      c20 = _mm512_fmadd_ps(av, b0v, c20);
      c21 = _mm512_fmadd_ps(av, b1v, c21);
    }
    if constexpr (MR > 3) {
      av = _mm512_set1_ps(a[3 * lda]);
      c30 = _mm512_fmadd_ps(av, b0v, c30);
      c31 = _mm512_fmadd_ps(av, b1v, c31);
    }
    if constexpr (MR > 4) {
      av = _mm512_set1_ps(a[4 * lda]);
      c40 = _mm512_fmadd_ps(av, b0v, c40);
      c41 = _mm512_fmadd_ps(av, b1v, c41);
    }
    if constexpr (MR > 5) {
      av = _mm512_set1_ps(a[5 * lda]);
      c50 = _mm512_fmadd_ps(av, b0v, c50);
      c51 = _mm512_fmadd_ps(av, b1v, c51);
    }
  }
  auto store_row = [&](int r, __m512 lo, __m512 hi) __attribute__((target("avx512f,fma"))) {
    if (r >= MR) return;
    _mm512_storeu_ps(c + r * ldc, lo);
    _mm512_mask_storeu_ps(c + r * ldc + kNr, mask2, hi);
  };
  store_row(0, c00, c01);
  store_row(1, c10, c11);
  store_row(2, c20, c21);
  store_row(3, c30, c31);
  store_row(4, c40, c41);
  store_row(5, c50, c51);
}

using Tile2Fn = void (*)(const float* a, const float* b, int64_t b_stride, int64_t kc, float* c, int64_t ldc,
                         int cols2, int64_t lda);
inline constexpr Tile2Fn kRowsTiles2Avx512[kMr + 1] = {nullptr,         tile2_avx512<1>, tile2_avx512<2>, tile2_avx512<3>,
                                                       tile2_avx512<4>, tile2_avx512<5>, tile2_avx512<6>};

inline constexpr TileFn kRowsTilesAvx512[kMr + 1] = {
    nullptr, tile_avx512<1, true>, tile_avx512<2, true>, tile_avx512<3, true>,
    tile_avx512<4, true>, tile_avx512<5, true>, tile_avx512<6, true>};

}  // namespace sparsert::fast::gemm_tile
