#include "jit/spmm/spmm_transpose.h"

#include <immintrin.h>

#include "jit/spmm/transpose_blocks.h"

namespace sparsert::jit {
namespace {

constexpr int kQuadRows = 64;

void transpose_scalar(const uint32_t* src, int64_t src_ld, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                      uint32_t* dst, int64_t dst_ld) {
  // Column-outer: writes are contiguous and the few source rows stay in L1.
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t r = r0; r < r1; ++r) dst[c * dst_ld + r] = src[r * src_ld + c];
}

// Stores column j of a transposed block at dst + j * dst_ld.
struct StoreColumns {
  float* dst;
  int64_t dst_ld;
  __attribute__((target("avx2"))) void operator()(int j, __m256 v) const { _mm256_storeu_ps(dst + j * dst_ld, v); }
  __attribute__((target("avx512f"))) void operator()(int j, __m512 v) const { _mm512_storeu_ps(dst + j * dst_ld, v); }
};

__attribute__((target("avx2"))) void transpose_8x8_avx2(const float* src, int64_t src_ld, float* dst,
                                                         int64_t dst_ld) {
  transpose_8x8_avx2_block([&](int i) { return src + i * src_ld; }, StoreColumns{dst, dst_ld});
}

// GCC 12's AVX-512 intrinsics pass _mm512_undefined_*() (`__m512 __Y = __Y;`),
// which -Wuninitialized flags once inlined (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

__attribute__((target("avx512f"))) void transpose_16x16_avx512(const float* src, int64_t src_ld, float* dst,
                                                              int64_t dst_ld) {
  transpose_16x16_avx512_block([&](int i) { return src + i * src_ld; }, StoreColumns{dst, dst_ld});
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

// 16 rows x 16 columns (8 K pairs) of a pair tile: each row's 16 bytes
// widened to int16 minus zp (8 dwords: its pairs), then two 8x8 dword
// transposes (rows 0..7 and 8..15) put pair j's 16 rows at out + 32 j.
__attribute__((target("avx2"))) void pack_pairs_16x16_avx2(const uint8_t* const src[16], int64_t c, int16_t zp16,
                                                            int16_t* out) {
  alignas(32) int32_t rows[16][8];
  const __m256i zp = _mm256_set1_epi16(zp16);
  for (int i = 0; i < 16; ++i)
    _mm256_store_si256(reinterpret_cast<__m256i*>(rows[i]),
                       _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i] + c))), zp));
  float* dst = reinterpret_cast<float*>(out + c / 2 * 32);
  transpose_8x8_avx2(reinterpret_cast<const float*>(rows[0]), 8, dst, 16);
  transpose_8x8_avx2(reinterpret_cast<const float*>(rows[8]), 8, dst + 8, 16);
}

// 16 rows (positions 16 * part ..) x 16 columns of a quad tile of `rows` rows.
__attribute__((target("avx2"))) void pack_quad_16x16_avx2(const uint8_t* const src[16], int64_t c, int part,
                                                           int rows, uint8_t* out) {
  __m128i r[16];
  transpose_16x16_u8(src, c, r);
  for (int j = 0; j < 16; ++j)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + (c + j) * rows + 16 * part), r[j]);
}

// The four 16-row parts at once: 128-bit lane q of r[i] is row 16q + i, and
// the byte unpacks work per lane, so r[j] ends as column c + j of all 64 rows
// in order: one tile row.
__attribute__((target("avx512f,avx512bw"))) void pack_quad_64x16_avx512(const uint8_t* const src[kQuadRows], int64_t c,
                                                                      uint8_t* out) {
  __m512i r[16], t[16];
  for (int i = 0; i < 16; ++i) {
    const __m256i lo = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[i] + c))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[16 + i] + c)), 1);
    const __m256i hi = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src[32 + i] + c))),
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(src[48 + i] + c)), 1);
    r[i] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_epi8(r[i], r[i + 8]);
      t[2 * i + 1] = _mm512_unpackhi_epi8(r[i], r[i + 8]);
    }
    for (int i = 0; i < 16; ++i) r[i] = t[i];
  }
  for (int j = 0; j < 16; ++j) _mm512_storeu_si512(out + (c + j) * kQuadRows, r[j]);
}
#pragma GCC diagnostic pop

}  // namespace

void pack_u8_rows_to_s16_tile(const uint8_t* const src[16], int64_t k, int16_t zp, int16_t* out, uint32_t isa) {
  int64_t c = 0;
  if (may_use(kIsaAvx2, isa)) {
    for (; c + 16 <= k; c += 16) pack_16x16_avx2(src, c, zp, out);
  }
  for (; c < k; ++c)
    for (int p = 0; p < 16; ++p) out[c * 16 + p] = static_cast<int16_t>(src[p][c] - zp);
}

void pack_u8_rows_to_s16_pair_tile(const uint8_t* const src[16], int64_t k, int16_t zp, int16_t* out, uint32_t isa) {
  int64_t c = 0;
  if (may_use(kIsaAvx2, isa)) {
    for (; c + 16 <= k; c += 16) pack_pairs_16x16_avx2(src, c, zp, out);
  }
  for (; c < k + k % 2; ++c)
    for (int p = 0; p < 16; ++p) out[c / 2 * 32 + 2 * p + c % 2] = c < k ? static_cast<int16_t>(src[p][c] - zp) : 0;
}

void pack_u8_rows_to_u8_tile(const uint8_t* const src[], int rows, int64_t k, uint8_t* out, uint32_t isa) {
  int64_t c = 0;
  if (rows == kQuadRows && may_use(kIsaAvx512, isa)) {
    for (; c + 16 <= k; c += 16) pack_quad_64x16_avx512(src, c, out);
  } else if (rows % 16 == 0 && may_use(kIsaAvx2, isa)) {
    for (; c + 16 <= k; c += 16)
      for (int part = 0; part < rows / 16; ++part) pack_quad_16x16_avx2(src + 16 * part, c, part, rows, out);
  }
  for (; c < k; ++c)
    for (int p = 0; p < rows; ++p) out[c * rows + p] = src[p][c];
}

void transpose32(const void* src_v, int64_t src_ld, int64_t rows, int64_t cols, void* dst_v, int64_t dst_ld,
                 uint32_t isa) {
  const uint32_t* src = static_cast<const uint32_t*>(src_v);
  uint32_t* dst = static_cast<uint32_t*>(dst_v);
  // Floats are moved bit-for-bit (no arithmetic), so int32 data is safe too.
  auto at = [&](int64_t r, int64_t c) { return reinterpret_cast<const float*>(src + r * src_ld + c); };
  auto to = [&](int64_t r, int64_t c) { return reinterpret_cast<float*>(dst + c * dst_ld + r); };
  // [0, r_done) x [0, c_done) go through registers: 16x16 blocks, then 8x8
  // blocks right of and below them.
  int64_t r16 = 0, c16 = 0, r_done = 0, c_done = 0;
  if (may_use(kIsaAvx512, isa)) {
    r16 = rows / 16 * 16;
    c16 = cols / 16 * 16;
    for (int64_t c = 0; c < c16; c += 16)
      for (int64_t r = 0; r < r16; r += 16) transpose_16x16_avx512(at(r, c), src_ld, to(r, c), dst_ld);
  }
  if (may_use(kIsaAvx2, isa)) {
    r_done = rows / 8 * 8;
    c_done = cols / 8 * 8;
    for (int64_t c = 0; c < c_done; c += 8)
      for (int64_t r = c < c16 ? r16 : 0; r < r_done; r += 8) transpose_8x8_avx2(at(r, c), src_ld, to(r, c), dst_ld);
  }
  transpose_scalar(src, src_ld, r_done, rows, 0, cols, dst, dst_ld);  // rows below the blocks
  transpose_scalar(src, src_ld, 0, r_done, c_done, cols, dst, dst_ld);  // columns right of the blocks
}

void transpose32_gather(const float* base, const int64_t* offsets, int64_t nrows, int64_t cols, float* dst,
                        int64_t dst_ld, uint32_t isa) {
  // As transpose32, each block's rows found through their own offsets.
  alignas(64) static const float zeros[64] = {};
  auto row = [&](int64_t r) { return offsets[r] < 0 ? zeros : base + offsets[r]; };
  int64_t r16 = 0, c16 = 0, r_done = 0, c_done = 0;
  if (may_use(kIsaAvx512, isa)) {
    r16 = nrows / 16 * 16;
    c16 = cols / 16 * 16;
    for (int64_t c = 0; c < c16; c += 16)
      for (int64_t r = 0; r < r16; r += 16)
        transpose_16x16_avx512_block([&](int i) { return row(r + i) + c; }, StoreColumns{dst + c * dst_ld + r, dst_ld});
  }
  if (may_use(kIsaAvx2, isa)) {
    r_done = nrows / 8 * 8;
    c_done = cols / 8 * 8;
    for (int64_t c = 0; c < c_done; c += 8)
      for (int64_t r = c < c16 ? r16 : 0; r < r_done; r += 8)
        transpose_8x8_avx2_block([&](int i) { return row(r + i) + c; }, StoreColumns{dst + c * dst_ld + r, dst_ld});
  }
  for (int64_t c = 0; c < cols; ++c)  // rows below the blocks, then columns right of them
    for (int64_t r = c < c_done ? r_done : 0; r < nrows; ++r) dst[c * dst_ld + r] = row(r)[c];
}

}  // namespace sparsert::jit
