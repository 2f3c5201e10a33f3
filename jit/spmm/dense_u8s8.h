// Dense exact u8 x s8 -> s32 products for CPUs without VNNI (SpmmLayout::kDenseTiles).
//
// vpmaddubsw multiplies 32 u8 activations by 32 s8 weights and adds adjacent
// pairs into int16 with saturation; vpmaddwd by ones then widens pairs of
// those into int32. It does twice the multiply-adds per instruction of the
// exact int16 path (vpmaddwd on widened activations: 98 vs 82 GMAC/s in L1 on
// Zen 3) but a pair sum x0*w0 + x1*w1 saturates when |w0| + |w1| > 128
// (255 * 129 > 32767). So W is split at packing: W = W1 + R, where W1 keeps
// every pair within |w0| + |w1| <= 128 (the larger weight of a pair that is
// not is cut back) and R holds what was cut, at most one entry per such pair.
// The tile kernel multiplies W1 exactly and never saturates; R, a few per
// thousand weights for quantized BERT layers (0.04% of ORT's quantize_dynamic
// weights), is added per column afterwards. The result equals the exact
// product for every input, extreme values included.
//
// Layout: W1 in groups of 16 output channels, each [quads][16][4] s8 (the 4
// weights of K indices 4q..4q+3 of a channel are one dword, so one broadcast
// activation dword feeds 16 channels); K padded to quads and N to groups with
// zeros. Activations are read straight from X (u8 rows; the zero point is
// taken out per column through the column sums of W1).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/status.h"
#include "jit/jit_generator.h"

namespace sparsert::jit {

struct PackedDenseU8S8 {
  static constexpr int kCols = 16;   // output channels per group (two ymm of s32)
  static constexpr int kMaxRows = 6; // activation rows per tile (12 accumulators)
  int64_t n = 0, k = 0;
  int64_t quads = 0;   // ceil(K / 4)
  int64_t groups = 0;  // ceil(N / 16)
  std::unique_ptr<int8_t[], void (*)(void*)> w{nullptr, nullptr};  // 64-byte aligned [groups][quads][16][4]
  std::vector<int32_t> column_sums;  // [groups * 16]: sum over k of W1[n][k]
  // R by output channel (CSC): entries fix_begin[n] .. fix_begin[n + 1].
  std::vector<int32_t> fix_begin;  // [n + 1]
  std::vector<int32_t> fix_k;
  std::vector<int32_t> fix_w;
  uint64_t fingerprint = 0;  // hash of shape and every weight

  const int8_t* group(int64_t g) const { return w.get() + g * quads * kCols * 4; }
  int64_t fixes() const { return static_cast<int64_t>(fix_k.size()); }
  int64_t packed_bytes() const;
};

// W element (r, c) at w[r * stride_n + c * stride_k] (as pack_sparse_s8).
PackedDenseU8S8 pack_dense_u8s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k);

// Entries of R for this W: pairs (K indices 2j, 2j + 1 of a channel) with
// |w0| + |w1| > 128. For the cost model.
int64_t count_dense_u8s8_fixes(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k);

// The tile contract (JIT kernel and plain twin): for rows m < mr and the 16
// channels of one group (group_w pointing at its quad q0, x at K index 4 q0),
//   out[m * ld_out_bytes / 4 + c] (+)= sum over q < quads, j < 4 of x[m * ldx + 4q + j] * W1[c][4(q0 + q) + j]
// adding onto out when accumulate (a later K chunk). x rows must be readable
// for 4 * quads bytes.
using DenseU8S8TileFn = void (*)(const uint8_t* x, int64_t ldx, const int8_t* group_w, int64_t quads, int32_t* out,
                                 int64_t ld_out_bytes, int64_t accumulate);
void dense_u8s8_tile_generic(const uint8_t* x, int64_t ldx, const int8_t* group_w, int64_t quads, int32_t* out,
                             int64_t ld_out_bytes, int64_t accumulate, int mr);

// u8_s8_s32_gemm_<mr>x16_avx2: mr in 1..6.
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_dense_avx2(int mr);

// acc[m][c] (rows ld_acc apart, channel n0 + c) of the tile's mt rows of x
// becomes the exact sum over k of (x - x_zero_point) * W: subtracts
// x_zero_point * column_sums and adds R, per entry from x, or (remainder not
// null) as the tile's rows of the precomputed (x - x_zero_point) * R
// (channel n0 + c of row m at remainder[m * ld_remainder + c]).
void finish_dense_u8s8(const PackedDenseU8S8& w, const uint8_t* x, int64_t ldx, int64_t mt, int32_t x_zero_point,
                       int64_t n0, int64_t count, int32_t* acc, int64_t ld_acc, const int32_t* remainder,
                       int64_t ld_remainder);

// True when R is better multiplied on the sparse 1-row bands (one pass over
// the [M, N] product) than entry by entry per activation row: more than 4
// entries per output channel.
inline bool dense_u8s8_remainder_on_bands(int64_t fixes, int64_t n) { return fixes > 4 * n; }

}  // namespace sparsert::jit
