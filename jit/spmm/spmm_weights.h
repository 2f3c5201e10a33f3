// W (N x K, sparse, constant) packed once for the SpMM kernels.
//
// Rows are grouped into bands of `band_rows` consecutive output channels that
// share one list of K indices: for 4x1-block-pruned int8 weights (4 output
// channels x 1 input channel, as Intel Neural Compressor prunes) every K index
// in a band's list carries 4 weights, so one gathered activation vector feeds
// 4 rows. f32 uses bands of one row (CSR: unstructured sparsity) or, for
// 4x1-block-pruned weights, of 4 rows like int8.
//
// Cache blocking: bands form row blocks of `block_bands`, and K is cut into
// chunks of `kc`. The streams are ordered (row block, K chunk, band), so a
// kernel call covers one row block for one K chunk: the activation rows it
// touches (kc x tile height) and the block's accumulators both stay in L1.
// Without the chunks a 768-deep f32 tile (96 KiB) is read from L2 twice per
// non-zero, which made the f32 kernel L2-bound at a fifth of FMA peak.
//
// A band's list is cut into groups of `group` K indices: 1 for f32 (one FMA
// per non-zero), 2 for u8s8 pairs (vpmaddwd / vpdpwssd multiply int16 pairs
// exactly; vpmaddubsw would saturate), 4 for u8s8 quads (vpdpbusd: u8 x s8
// in groups of 4, exact in s32). Short lists are padded with zero weights.
// Values: f32 -> per group, band_rows floats; u8s8 pairs -> per group,
// band_rows dwords, each the int16 pair (w[r,k_a], w[r,k_b]); u8s8 quads ->
// per group, band_rows dwords, each the 4 bytes (w[r,k_a], .., w[r,k_d]).
// Quads multiply raw u8 activations, so row_sums (per output channel, the sum
// of its weights) take the activation zero point out afterwards.
#pragma once

#include <cstdint>
#include <vector>

#include "jit/spmm/spmm_desc.h"

namespace sparsert::jit {

struct PackedSparse {
  SpmmDType dtype = SpmmDType::kF32;
  int64_t n = 0, k = 0;
  int32_t band_rows = 1;
  int32_t group = 1;
  // 4: every group is one aligned K quad (4q, .., 4q + 3) of a 1-row band,
  // for 1x4-pruned W on the quad kernels, whose tiles then hold dense quads;
  // 2: one aligned K pair (2p, 2p + 1) of a 1-row band, the same W on the
  // pair kernels (tiles of dense int16 pairs). 1: groups of any K indices.
  int32_t k_block = 1;
  int64_t bands = 0;
  int64_t kc = 0, chunks = 0;      // K chunk length and count
  int64_t block_bands = 0, blocks = 0;
  // [blocks][chunks][bands of the block]: groups of each band within each chunk.
  std::vector<int32_t> groups_per_band;
  // [blocks * chunks + 1]: first group of each (block, chunk) segment.
  std::vector<int64_t> segment_begin;
  std::vector<int32_t> kidx;          // [groups * kidx_per_group()]
  std::vector<float> values_f32;      // [groups * band_rows]      (f32)
  std::vector<int32_t> values_s16x2;  // [groups * band_rows]      (u8s8 pairs)
  std::vector<int32_t> values_s8x4;   // [groups * band_rows]      (u8s8 quads)
  std::vector<int32_t> row_sums;      // [N]                       (u8s8 quads)
  int64_t nnz = 0;                    // non-zero weights of W
  uint64_t fingerprint = 0;           // hash of shape, blocking, band_rows and the K lists

  int64_t groups() const { return segment_begin.empty() ? 0 : segment_begin.back(); }
  // K indices stored per group: its `group` indices, or with k_block 4 the
  // quad's first (4q) alone (at M = 1 the stream is 8 bytes a group, not 20);
  // with k_block 2 the pair's first (2p).
  int64_t kidx_per_group() const { return k_block > 1 ? 1 : group; }
  int64_t bands_in_block(int64_t b) const { return std::min(block_bands, bands - b * block_bands); }
  // Index into groups_per_band of (block, chunk)'s first band.
  int64_t count_offset(int64_t block, int64_t chunk) const {
    return block * chunks * block_bands + chunk * bands_in_block(block);
  }
  double density() const { return n * k == 0 ? 0.0 : static_cast<double>(nnz) / static_cast<double>(n * k); }
  // Bytes the kernels stream per pass over W (indices + values + counts).
  int64_t packed_bytes() const;
};

// W element (r, c) is at w[r * stride_n + c * stride_k]: pass (K, 1) for an
// [N,K] matrix and (1, N) for ONNX MatMul's [K,N] weight.
PackedSparse pack_sparse_f32(const float* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                             int32_t band_rows);
// group: 2 (pairs) or 4 (quads); k_block 4 (1x4 blocks, with 1-row bands
// only): groups are the aligned K quads (quads) or pairs (pairs) holding a
// non-zero, zeros inside them kept (weights past K are 0), each stored as one
// K index, 4q or 2p; the result's k_block is then `group`.
PackedSparse pack_sparse_s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                            int32_t band_rows, int32_t group = 2, int32_t k_block = 1);

// How many of the K x N/4 blocks of 4 rows x 1 column are entirely zero,
// relative to the number of zero weights: 1.0 means every zero lies in a zero
// 4x1 block (4x1-pruned), ~density-driven for unstructured patterns.
double fraction_of_zeros_in_4x1_blocks(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k);

}  // namespace sparsert::jit
