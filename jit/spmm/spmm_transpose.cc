#include "jit/spmm/spmm_transpose.h"

#include <immintrin.h>

namespace sparsert::jit {
namespace {

constexpr int kQuadRows = 64;

void transpose_scalar(const uint32_t* src, int64_t src_ld, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                      uint32_t* dst, int64_t dst_ld) {
  // Column-outer: writes are contiguous and the few source rows stay in L1.
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = r0; r < r1; ++r) dst[c * dst_ld + r] = src[r * src_ld + c];
}

__attribute__((target("avx2"))) void transpose_8x8_avx2(const float* src, int64_t src_ld, float* dst,
                                                         int64_t dst_ld) {
  __m256 r0 = _mm256_loadu_ps(src + 0 * src_ld), r1 = _mm256_loadu_ps(src + 1 * src_ld);
  __m256 r2 = _mm256_loadu_ps(src + 2 * src_ld), r3 = _mm256_loadu_ps(src + 3 * src_ld);
  __m256 r4 = _mm256_loadu_ps(src + 4 * src_ld), r5 = _mm256_loadu_ps(src + 5 * src_ld);
  __m256 r6 = _mm256_loadu_ps(src + 6 * src_ld), r7 = _mm256_loadu_ps(src + 7 * src_ld);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst + 0 * dst_ld, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * dst_ld, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * dst_ld, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * dst_ld, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * dst_ld, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * dst_ld, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * dst_ld, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * dst_ld, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// Four rounds of "unpack row i with row i+8" rotate the 8-bit (row, column)
// index of a 16x16 byte matrix left by one bit each: after four it is the
// transpose. r[j] = column c + j of rows src[0..15].
__attribute__((target("avx2"))) inline void transpose_16x16_u8(const uint8_t* const src[16], int64_t c, __m128i r[16]) {
  __m128i t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i] + c));
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm_unpacklo_epi8(r[i], r[i + 8]);
      t[2 * i + 1] = _mm_unpackhi_epi8(r[i], r[i + 8]);
    }
    for (int i = 0; i < 16; ++i) r[i] = t[i];
  }
}

__attribute__((target("avx2"))) void pack_16x16_avx2(const uint8_t* const src[16], int64_t c, int16_t zp16,
                                                      int16_t* out) {
  const __m256i zp = _mm256_set1_epi16(zp16);
  __m128i r[16];
  transpose_16x16_u8(src, c, r);
  for (int j = 0; j < 16; ++j)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + (c + j) * 16), _mm256_sub_epi16(_mm256_cvtepu8_epi16(r[j]), zp));
}

// 16 rows (positions 16 * part ..) x 16 columns of the quad tile.
__attribute__((target("avx2"))) void pack_quad_16x16_avx2(const uint8_t* const src[16], int64_t c, int part,
                                                           uint8_t* out) {
  __m128i r[16];
  transpose_16x16_u8(src, c, r);
  for (int j = 0; j < 16; ++j)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (c + j) * kQuadRows + 16 * part), r[j]);
}

}  // namespace

void pack_u8_rows_to_s16_tile(const uint8_t* const src[16], int64_t k, int16_t zp, int16_t* out, bool use_avx2) {
  int64_t c = 0;
  if (use_avx2) {
    for (; c + 16 <= k; c += 16) pack_16x16_avx2(src, c, zp, out);
  }
  for (; c < k; ++c)
    for (int p = 0; p < 16; ++p) out[c * 16 + p] = static_cast<int16_t>(src[p][c] - zp);
}

void pack_u8_rows_to_u8_tile(const uint8_t* const src[kQuadRows], int64_t k, uint8_t* out, bool use_avx2) {
  int64_t c = 0;
  if (use_avx2) {
    for (; c + 16 <= k; c += 16)
      for (int part = 0; part < kQuadRows / 16; ++part) pack_quad_16x16_avx2(src + 16 * part, c, part, out);
  }
  for (; c < k; ++c)
    for (int p = 0; p < kQuadRows; ++p) out[c * kQuadRows + p] = src[p][c];
}

void transpose32(const void* src_v, int64_t src_ld, int64_t rows, int64_t cols, void* dst_v, int64_t dst_ld,
                 bool use_avx2) {
  const uint32_t* src = static_cast<const uint32_t*>(src_v);
  uint32_t* dst = static_cast<uint32_t*>(dst_v);
  int64_t r8 = 0, c8 = 0;
  if (use_avx2) {
    r8 = rows / 8 * 8;
    c8 = cols / 8 * 8;
    // Floats are moved bit-for-bit (no arithmetic), so int32 data is safe too.
    for (int64_t c = 0; c < c8; c += 8)
      for (int64_t r = 0; r < r8; r += 8)
        transpose_8x8_avx2(reinterpret_cast<const float*>(src + r * src_ld + c), src_ld,
                           reinterpret_cast<float*>(dst + c * dst_ld + r), dst_ld);
  }
  transpose_scalar(src, src_ld, r8, rows, 0, cols, dst, dst_ld);  // rows below the 8-row blocks
  transpose_scalar(src, src_ld, 0, r8, c8, cols, dst, dst_ld);    // columns right of the blocks
}

}  // namespace sparsert::jit
