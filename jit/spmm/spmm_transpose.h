// 32-bit transposes for the SpMM tile packing (X rows -> K-major tile) and
// epilogue (transposed accumulators -> rows of Y): dst[c * dst_ld + r] =
// src[r * src_ld + c] for r < rows, c < cols. 16x16 blocks go through zmm
// registers where `isa` (a cap: the instructions the caller allows, e.g. its
// kernel's ISA) includes AVX-512, 8x8 blocks through ymm where it includes
// AVX2; the rest is scalar. Bits are moved as they are: any 32-bit data.
#pragma once

#include <cstdint>

#include "jit/isa.h"

namespace sparsert::jit {

void transpose32(const void* src, int64_t src_ld, int64_t rows, int64_t cols, void* dst, int64_t dst_ld,
                 uint32_t isa);
// The same for rows at offsets from base: dst[c * dst_ld + r] = row r's
// element c, row r at base + offsets[r], or all zeros where offsets[r] < 0
// (the implicit im2col of a convolution's tile packing: rows are input
// pixels, or padding). cols <= 64.
void transpose32_gather(const float* base, const int64_t* offsets, int64_t nrows, int64_t cols, float* dst,
                        int64_t dst_ld, uint32_t isa);

// out[c * 16 + p] = src[p][c] - zp for c < k: the u8s8 tile packing (16
// activation rows, already in tile order, widened to int16). 16x16 byte blocks
// are transposed in registers (four rounds of byte unpacks) where `isa`
// includes AVX2.
void pack_u8_rows_to_s16_tile(const uint8_t* const src[16], int64_t k, int16_t zp, int16_t* out, uint32_t isa);

// out[c / 2 * 32 + 2 p + c % 2] = src[p][c] - zp for c < k, and 0 at c = k
// when k is odd: the u8s8 tile of 1x4 blocks as K pairs ([K / 2][16][2]
// int16, 16 activation rows in order). 16 rows x 8 pairs at a time are
// widened and transposed as dwords in ymm where `isa` includes AVX2.
void pack_u8_rows_to_s16_pair_tile(const uint8_t* const src[16], int64_t k, int16_t zp, int16_t* out, uint32_t isa);

// out[c * rows + p] = src[p][c] for c < k: the u8s8 quad tile packing (rows
// 64 or 16 activation rows, already in tile order, bytes as they are), by
// 16x16 byte transposes: four at once in zmm where `isa` includes AVX-512 (64
// rows), one at a time in xmm where it includes AVX2.
void pack_u8_rows_to_u8_tile(const uint8_t* const src[], int rows, int64_t k, uint8_t* out, uint32_t isa);

}  // namespace sparsert::jit
