// Register transposes of 8x8 (ymm) and 16x16 (zmm) float blocks, shared by
// jit/spmm/spmm_transpose.cc and the SpMM epilogue (which finishes each
// transposed column in registers before storing it). row(i) gives where row i
// of the block starts (rows may be anywhere); store(j, v) receives column j.
#pragma once

#include <immintrin.h>

namespace sparsert::jit {

// 8x8: row(i) is where row i of the block starts; store(j, v) takes column j.
template <typename Row, typename Store>
__attribute__((target("avx2"))) inline void transpose_8x8_avx2_block(Row row, Store store) {
  __m256 r0 = _mm256_loadu_ps(row(0)), r1 = _mm256_loadu_ps(row(1));
  __m256 r2 = _mm256_loadu_ps(row(2)), r3 = _mm256_loadu_ps(row(3));
  __m256 r4 = _mm256_loadu_ps(row(4)), r5 = _mm256_loadu_ps(row(5));
  __m256 r6 = _mm256_loadu_ps(row(6)), r7 = _mm256_loadu_ps(row(7));
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  store(0, _mm256_permute2f128_ps(s0, s4, 0x20));
  store(1, _mm256_permute2f128_ps(s1, s5, 0x20));
  store(2, _mm256_permute2f128_ps(s2, s6, 0x20));
  store(3, _mm256_permute2f128_ps(s3, s7, 0x20));
  store(4, _mm256_permute2f128_ps(s0, s4, 0x31));
  store(5, _mm256_permute2f128_ps(s1, s5, 0x31));
  store(6, _mm256_permute2f128_ps(s2, s6, 0x31));
  store(7, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() (`__m512 __Y = __Y;`),
// which -Wuninitialized flags once inlined (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Four rounds (unpack row pairs, 4-row shuffles, then two of 128-bit lane
// shuffles) of 16 rows; r[c] then holds column c.
template <typename Row, typename Store>
__attribute__((target("avx512f"))) inline void transpose_16x16_avx512_block(Row row, Store store) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(row(i));
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // r[4g + k], 128-bit lane l: column 4l + k of rows 4g..4g+3.
  for (int g = 0; g < 4; ++g) {
    r[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  // t[k] / t[4 + k]: lanes 0 and 2 / 1 and 3 of groups 0 and 1; t[8 + k] / t[12 + k]: of groups 2 and 3.
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);
    t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xDD);
    t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xDD);
  }
  for (int k = 0; k < 4; ++k) {
    store(k, _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88));
    store(8 + k, _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD));
    store(4 + k, _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88));
    store(12 + k, _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xDD));
  }
}

#pragma GCC diagnostic pop

}  // namespace sparsert::jit
