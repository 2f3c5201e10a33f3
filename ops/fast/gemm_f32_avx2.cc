// The AVX2+FMA body of gemm_f32. Only the tile functions are compiled for
// AVX2+FMA (target attribute, not -mavx2 on the file: inline library code
// instantiated here must stay runnable on any x86-64, since the linker may
// keep this file's copy); they run after gemm_f32_avx2_available() said yes.
//
// Blocking: K in blocks of kKc rows so a 16-column panel block (kKc x 16 floats,
// 16 KiB) stays in L1 while every 6-row strip of X streams past it; each thread
// owns whole panels, so it writes disjoint columns of Y. The 6x16 tile is 12
// ymm accumulators + 2 for B + 1 broadcast: the standard AVX2 register budget.
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "ops/fast/gemm_f32.h"
#include "ops/fast/vector_math.h"
#include "ops/op_util.h"

namespace sparsert::fast {
namespace {

constexpr int kMr = 6;
constexpr int kNr = PackedWeightsF32::kPanel;
constexpr int64_t kKc = 256;

// C[MR x 16] (+)= A[MR x kc] * B[kc x 16], A packed k-major (a[k*MR + r]) so the
// six broadcasts of a step read one cache line; `first` starts from init (bias or 0).
// Columns past `cols` (the last panel's padding) are not stored. The 12
// accumulators are named variables, not an array: GCC keeps an indexed
// __m256 array on the stack and reloads it every k (measured: 27 vs ~80 GFLOP/s).
template <int MR>
__attribute__((target("avx2,fma"))) void tile(const float* a, const float* b, int64_t kc, float* c, int64_t ldc,
                                              bool first, const float* init, int cols) {
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
  for (int64_t k = 0; k < kc; ++k, a += MR) {
    const __m256 b0 = _mm256_load_ps(b + k * kNr);
    const __m256 b1 = _mm256_load_ps(b + k * kNr + 8);
    __m256 av;
    av = _mm256_broadcast_ss(a);
    c00 = _mm256_fmadd_ps(av, b0, c00);
    c01 = _mm256_fmadd_ps(av, b1, c01);
    if constexpr (MR > 1) {
      av = _mm256_broadcast_ss(a + 1);
      c10 = _mm256_fmadd_ps(av, b0, c10);
      c11 = _mm256_fmadd_ps(av, b1, c11);
    }
    if constexpr (MR > 2) {
      av = _mm256_broadcast_ss(a + 2);
      c20 = _mm256_fmadd_ps(av, b0, c20);
      c21 = _mm256_fmadd_ps(av, b1, c21);
    }
    if constexpr (MR > 3) {
      av = _mm256_broadcast_ss(a + 3);
      c30 = _mm256_fmadd_ps(av, b0, c30);
      c31 = _mm256_fmadd_ps(av, b1, c31);
    }
    if constexpr (MR > 4) {
      av = _mm256_broadcast_ss(a + 4);
      c40 = _mm256_fmadd_ps(av, b0, c40);
      c41 = _mm256_fmadd_ps(av, b1, c41);
    }
    if constexpr (MR > 5) {
      av = _mm256_broadcast_ss(a + 5);
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

using TileFn = void (*)(const float*, const float*, int64_t, float*, int64_t, bool, const float*, int);
constexpr TileFn kTiles[kMr + 1] = {nullptr, tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};

}  // namespace

// Columns [n0, n1) of every row: activation in place, then + residual.
static void apply_epilogue(const GemmEpilogue& e, float* y, int64_t M, int64_t ldy, int64_t n0, int64_t n1) {
  if (e.act == GemmEpilogue::Act::kNone && e.residual == nullptr) return;
  for (int64_t m = 0; m < M; ++m) {
    float* row = y + m * ldy + n0;
    const int64_t n = n1 - n0;
    switch (e.act) {
      case GemmEpilogue::Act::kNone: break;
      case GemmEpilogue::Act::kRelu:
        for (int64_t j = 0; j < n; ++j) row[j] = std::max(row[j], 0.f);
        break;
      case GemmEpilogue::Act::kGeluErf: gelu_erf_in_place_array(row, n); break;
      case GemmEpilogue::Act::kGeluTanh: gelu_tanh_in_place_array(row, n); break;
    }
    if (e.residual)
      for (int64_t j = 0; j < n; ++j) row[j] += e.residual[m * e.ld_residual + n0 + j];
  }
}

void gemm_f32_avx2(const float* x, int64_t M, int64_t lda, const PackedWeightsF32& w, float* y, int64_t ldy,
                   const GemmEpilogue& epilogue) {
  const int64_t K = w.K(), N = w.N(), panels = w.panels();
  if (M == 0 || N == 0) return;
  if (K == 0) {  // Y = bias (or 0)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) y[m * ldy + n] = w.bias() ? w.bias()[n] : 0.f;
    apply_epilogue(epilogue, y, M, ldy, 0, N);
    return;
  }
  // Each thread owns a range of panels (disjoint columns of Y). Per K block it packs
  // the X rows it needs once (strips of 6 rows, k-major: M*kc floats, L2-sized) and
  // runs every panel of its range over them; the panel's kc x 16 block stays in L1.
  const int64_t strips = (M + kMr - 1) / kMr;
  parallel_for(panels, std::max<int64_t>(1, 32768 / std::max<int64_t>(1, M * K / 64)), [&](int64_t p0, int64_t p1) {
    std::vector<float> apack(static_cast<size_t>(strips * kMr * std::min(kKc, K)));
    for (int64_t k0 = 0; k0 < K; k0 += kKc) {
      const int64_t kc = std::min(kKc, K - k0);
      for (int64_t st = 0; st < strips; ++st) {
        const int mr = static_cast<int>(std::min<int64_t>(kMr, M - st * kMr));
        float* dst = apack.data() + st * kMr * kc;
        for (int r = 0; r < mr; ++r) {
          const float* src = x + (st * kMr + r) * lda + k0;
          for (int64_t k = 0; k < kc; ++k) dst[k * mr + r] = src[k];
        }
      }
      for (int64_t p = p0; p < p1; ++p) {
        const int cols = static_cast<int>(std::min<int64_t>(kNr, N - p * kNr));
        const float* init = w.bias() ? w.bias() + p * kNr : nullptr;
        const float* bblock = w.panel(p) + k0 * kNr;
        for (int64_t st = 0; st < strips; ++st) {
          const int mr = static_cast<int>(std::min<int64_t>(kMr, M - st * kMr));
          kTiles[mr](apack.data() + st * kMr * kc, bblock, kc, y + st * kMr * ldy + p * kNr, ldy, k0 == 0, init, cols);
        }
      }
    }
    apply_epilogue(epilogue, y, M, ldy, p0 * kNr, std::min(N, p1 * kNr));
  });
}

}  // namespace sparsert::fast
