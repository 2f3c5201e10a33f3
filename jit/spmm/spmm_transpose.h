// 32-bit transposes for the SpMM tile packing (X rows -> K-major tile) and
// epilogue (transposed accumulators -> rows of Y): dst[c * dst_ld + r] =
// src[r * src_ld + c] for r < rows, c < cols. 8x8 blocks go through registers
// (AVX2 unpack/shuffle/permute) when the cap allows; the rest is scalar.
#pragma once

#include <cstdint>

namespace sparsert::jit {

void transpose32(const void* src, int64_t src_ld, int64_t rows, int64_t cols, void* dst, int64_t dst_ld,
                 bool use_avx2);

// out[c * 16 + p] = src[p][c] - zp for c < k: the u8s8 tile packing (16
// activation rows, already in tile order, widened to int16). 16x16 byte blocks
// are transposed in registers (four rounds of byte unpacks) when use_avx2.
void pack_u8_rows_to_s16_tile(const uint8_t* const src[16], int64_t k, int16_t zp, int16_t* out, bool use_avx2);

// out[c * 64 + p] = src[p][c] for c < k: the u8s8 quad tile packing (64
// activation rows, already in tile order, bytes as they are), by 16x16 byte
// transposes when use_avx2.
void pack_u8_rows_to_u8_tile(const uint8_t* const src[64], int64_t k, uint8_t* out, bool use_avx2);

}  // namespace sparsert::jit
