// The AVX2+FMA body of gemm_f32. Only the tile functions are compiled for
// AVX2+FMA (target attribute, not -mavx2 on the file: inline library code
// instantiated here must stay runnable on any x86-64, since the linker may
// keep this file's copy); they run after gemm_f32_avx2_available() said yes.
//
// Blocking: K in blocks of kKc rows so a 16-column panel block (kKc x 16 floats,
// 16 KiB) stays in L1 while every 6-row strip of X streams past it; each thread
// owns whole panels, so it writes disjoint columns of Y. The 6x16 tile is 12
// ymm accumulators + 2 for B + 1 broadcast: the standard AVX2 register budget.
#include <algorithm>
#include <vector>

#include "ops/fast/gemm_f32.h"
#include "ops/fast/gemm_tile_avx2.h"
#include "ops/fast/vector_math.h"
#include "ops/op_util.h"

namespace sparsert::fast {
namespace {

using gemm_tile::kMr;
using gemm_tile::kNr;
using gemm_tile::kTiles;
constexpr int64_t kKc = 256;  // K block: a 16-column panel block of kKc rows is 16 KiB, L1-resident

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
          kTiles[mr](apack.data() + st * kMr * kc, bblock, kc, y + st * kMr * ldy + p * kNr, ldy, k0 == 0, init, cols,
                    /*lda=*/0);
        }
      }
    }
    apply_epilogue(epilogue, y, M, ldy, p0 * kNr, std::min(N, p1 * kNr));
  });
}

}  // namespace sparsert::fast
