// fast_attention_f32: com.sparsert Attention (ops/attention.h) on the GEMM's
// 6x16 AVX2+FMA tile (ops/fast/gemm_tile_avx2.h; on AVX-512 its zmm twin,
// gemm_tile_avx512.h: half the FMAs, the same floats), one head at a time and six
// query rows at a time, so a strip's scores (6 x Sk floats) never leave L1:
//   per (batch, head): pack K_h^T and V_h once into 16-column panels (D x 16
//   and Sk x 16 floats, zero-padded), then per strip of 6 query rows:
//   scores = Q_strip K_h^T (tile over the Sk/16 panels, K = D),
//   scale, mask and softmax in place (fast::scaled_masked_softmax_rows, the
//   oneDNN kernel's row pass, with a QDQ graph's Q/DQ pairs where it has them),
//   O_strip = P_strip V_h (tile over Dv/16 panels, K = Sk) stored straight
//   into the [B, Sq, H*Dv] output (and its Q/DQ pair applied there while in L1).
// onednn_attention_f32 (two strided batched matmuls with the whole head's
// scores between them) reached ~52 GFLOP/s in BERT-base on a Zen 3 core;
// oneDNN 2.6 runs its small-K batched matmuls far from the FMA peak.
// Work items are (batch, head, chunk of query strips); a head is split into
// chunks only when there are fewer heads than about twice the threads, since
// every chunk packs its head's K and V again.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "jit/spmm/spmm_transpose.h"
#include "ops/attention.h"
#include "ops/fast/gemm_f32.h"
#include "jit/isa.h"
#include "ops/fast/gemm_tile_avx2.h"
#include "ops/fast/gemm_tile_avx512.h"
#include "ops/fast/vector_math.h"
#include "ops/linear.h"  // kSparsertDomain
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using fast::gemm_tile::kMr;
using fast::gemm_tile::kNr;
using fast::gemm_tile::kRowsTiles;
using fast::gemm_tile::TileFn;

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], FreeDeleter>;

// 64-byte aligned (the tile loads panel rows with aligned loads); nullptr when out of memory.
AlignedFloats aligned_floats(int64_t n) {
  const size_t bytes = (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(float) + 63) / 64 * 64;
  return AlignedFloats(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

// Panels of 16 columns of the [rows x cols] matrix src (rows ld apart):
// panel p holds rows x 16 floats, zeros past cols.
void pack_panels(const float* src, int64_t rows, int64_t cols, int64_t ld, float* dst) {
  for (int64_t c0 = 0; c0 < cols; c0 += kNr, dst += rows * kNr) {
    const int64_t n = std::min<int64_t>(kNr, cols - c0);
    if (n == kNr) {  // a constant size: inlined moves, not a library call per row
      for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * kNr, src + r * ld + c0, kNr * sizeof(float));
      continue;
    }
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(dst + r * kNr, src + r * ld + c0, static_cast<size_t>(n) * sizeof(float));
      std::fill(dst + r * kNr + n, dst + (r + 1) * kNr, 0.f);
    }
  }
}

// Panels of 16 columns of the transpose of the [rows x cols] matrix src (rows
// ld apart): panel p holds cols x 16 floats (src rows 16p..16p+15 as columns), zeros past rows.
void pack_panels_transposed(const float* src, int64_t rows, int64_t cols, int64_t ld, float* dst, uint32_t isa) {
  for (int64_t r0 = 0; r0 < rows; r0 += kNr, dst += cols * kNr) {
    const int64_t n = std::min<int64_t>(kNr, rows - r0);
    if (n < kNr) std::fill(dst, dst + cols * kNr, 0.f);
    jit::transpose32(src + r0 * ld, ld, n, cols, dst, kNr, isa);
  }
}

// Each cache line of floats [p, p + n) into L1 (a hint: results do not depend on it).
inline void prefetch_row(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) __builtin_prefetch(p + i, 0, 3);
}

// C[mr x cols] = A B over the panels of B (panel_floats apart): two panels
// at a time where tiles2 is given (AVX-512), the last odd one (and all, on
// AVX2) by tiles. A's rows are lda apart.
void panels_product(const TileFn* tiles, const fast::gemm_tile::Tile2Fn* tiles2, int mr, const float* a, int64_t lda,
                    const float* b, int64_t panel_floats, int64_t kc, float* c, int64_t ldc, int64_t cols) {
  const int64_t panels = (cols + kNr - 1) / kNr;
  int64_t p = 0;
  if (tiles2 != nullptr)
    for (; p + 2 <= panels; p += 2)
      tiles2[mr](a, b + p * panel_floats, panel_floats, kc, c + p * kNr, ldc,
                 static_cast<int>(std::min<int64_t>(kNr, cols - (p + 1) * kNr)), lda);
  for (; p < panels; ++p)
    tiles[mr](a, b + p * panel_floats, kc, c + p * kNr, ldc, true, nullptr,
              static_cast<int>(std::min<int64_t>(kNr, cols - p * kNr)), lda);
}

// tiles: kRowsTiles (AVX2) or kRowsTilesAvx512, by row count; tiles2: kRowsTiles2Avx512 or null;
// isa: the ISA cap (for the packing transposes).
Status attention_f32_tiled(const AttentionDims& d, const AttentionAttrs& a, const float* q, const float* k,
                           const float* v, const float* mask, const uint8_t* keep, float* y, const TileFn* tiles,
                           const fast::gemm_tile::Tile2Fn* tiles2, uint32_t isa) {
  const int64_t HD = d.H * d.D, HDv = d.H * d.Dv;
  const int64_t k_panels = (d.Sk + kNr - 1) / kNr, v_panels = (d.Dv + kNr - 1) / kNr;
  const int64_t strips = (d.Sq + kMr - 1) / kMr, heads = d.B * d.H;
  const int64_t chunks =
      std::clamp<int64_t>((2 * parallel_threads() + heads - 1) / heads, 1, std::max<int64_t>(1, strips / 4));
  const int64_t strips_per_chunk = (strips + chunks - 1) / chunks;
  const fast::AttentionRowSteps base_steps = a.row_steps();
  const bool row_steps = a.has_row_qdq() || d.has_keep;
  constexpr int64_t kL2Bytes = 1 << 20;
  const bool prefetch = d.B * d.Sk * std::max(HD, HDv) * static_cast<int64_t>(sizeof(float)) > kL2Bytes;
  std::atomic<bool> out_of_memory{false};
  parallel_for(heads * chunks, 1, [&](int64_t t0, int64_t t1) {
    AlignedFloats kt = aligned_floats(k_panels * kNr * d.D), vp = aligned_floats(v_panels * kNr * d.Sk),
                  scores = aligned_floats(kMr * d.Sk);
    if (!kt || !vp || !scores) {
      out_of_memory = true;
      return;
    }
    int64_t packed = -1;  // the (batch, head) whose K^T and V are in kt and vp
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bh = t / chunks, b = bh / d.H, h = bh % d.H;
      const int64_t s0 = (t % chunks) * strips_per_chunk, s1 = std::min(strips, s0 + strips_per_chunk);
      if (s0 >= s1) continue;
      if (packed != bh) {
        // K_h^T: [D x Sk], element (i, j) = k[b, j, h*D + i].
        pack_panels_transposed(k + b * d.Sk * HD + h * d.D, d.Sk, d.D, HD, kt.get(), isa);
        // V_h: [Sk x Dv], element (j, e) = v[b, j, h*Dv + e].
        pack_panels(v + b * d.Sk * HDv + h * d.Dv, d.Sk, d.Dv, HDv, vp.get());
        packed = bh;
      }
      // Where K and V are larger than an L2 (batch 8: 3 MiB each, from L3),
      // the next item's head has its K and V rows prefetched a few per strip,
      // and each strip the next strip's query rows, so they arrive while this
      // head computes: batch 8 2674 -> 2410 us a layer, 1 thread. (At batch 1,
      // in L2, the prefetches cost 2.5%: none there.)
      const int64_t next_bh = prefetch && t + 1 < t1 ? (t + 1) / chunks : -1;
      const int64_t prefetch_rows = next_bh == bh || next_bh < 0 ? 0 : (d.Sk + (s1 - s0) - 1) / (s1 - s0);
      const int64_t nb = next_bh / d.H, nh = next_bh % d.H;  // (used only with prefetch_rows > 0)
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t i0 = s * kMr;
        const int mr = static_cast<int>(std::min<int64_t>(kMr, d.Sq - i0));
        const float* q_rows = q + (b * d.Sq + i0) * HD + h * d.D;
        for (int64_t j = (s - s0) * prefetch_rows; j < std::min(d.Sk, (s - s0 + 1) * prefetch_rows); ++j) {
          prefetch_row(k + (nb * d.Sk + j) * HD + nh * d.D, d.D);
          prefetch_row(v + (nb * d.Sk + j) * HDv + nh * d.Dv, d.Dv);
        }
        if (prefetch && s + 1 < s1)  // the next strip's query rows
          for (int r = 0; r < kMr && i0 + kMr + r < d.Sq; ++r) prefetch_row(q_rows + (kMr + r) * HD, d.D);
        panels_product(tiles, tiles2, mr, q_rows, HD, kt.get(), d.D * kNr, d.D, scores.get(), d.Sk, d.Sk);
        const fast::AttentionRowSteps steps = d.row_steps(base_steps, keep, b, h, i0);
        fast::scaled_masked_softmax_rows(scores.get(), mr, d.Sk, a.scale, a.divide,
                                         d.has_mask ? d.mask_row(mask, b, h, i0) : nullptr, d.mask_stride[2],
                                         d.mask_stride[3], row_steps ? &steps : nullptr);
        float* out = y + (b * d.Sq + i0) * HDv + h * d.Dv;
        panels_product(tiles, tiles2, mr, scores.get(), d.Sk, vp.get(), d.Sk * kNr, d.Sk, out, HDv, d.Dv);
        if (a.qdq_output) fast::quantize_dequantize_rows(out, mr, d.Dv, HDv, *a.qdq_output);
      }
    }
  });
  if (out_of_memory)
    return ResourceExhausted("attention: per-thread panels of K and V (", (k_panels * d.D + v_panels * d.Sk) * kNr * 4,
                             " bytes)");
  return Status::OK();
}

StatusOr<KernelFn> fast_attention_impl(const Node& n, const Graph&, const ImplContext& ictx) {
  if (!fast::gemm_f32_avx2_available(ictx.isa_cap)) return Unimplemented("isa: needs avx2 and fma");
  SPARSERT_ASSIGN_OR_RETURN(AttentionAttrs a, read_attention_attrs(n));
  const bool avx512 = jit::may_use(jit::kIsaAvx512, ictx.isa_cap);
  if (ictx.report) ictx.report->variant = avx512 ? "attention_6x16_avx512" : "attention_6x16_avx2";
  const TileFn* tiles = avx512 ? fast::gemm_tile::kRowsTilesAvx512 : kRowsTiles;
  const fast::gemm_tile::Tile2Fn* tiles2 = avx512 ? fast::gemm_tile::kRowsTiles2Avx512 : nullptr;
  const uint32_t isa_cap = ictx.isa_cap;
  return attention_kernel(n, a, [a, tiles, tiles2, isa_cap](const AttentionDims& d, const float* q, const float* k,
                                                            const float* v, const float* mask, const uint8_t* keep,
                                                            float* y) {
    return attention_f32_tiled(d, a, q, k, v, mask, keep, y, tiles, tiles2, isa_cap);
  });
}

}  // namespace

void register_fast_attention_impls(OpRegistry& r) {
  r.add_impl(kSparsertDomain, "Attention", {"fast_attention_f32", fast_attention_impl});
}

}  // namespace sparsert
