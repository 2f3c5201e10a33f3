#include "jit/spmm/spmm_weights.h"

#include <algorithm>

namespace sparsert::jit {
namespace {

// f32: 256 K x 32 floats = 32 KiB of tile per chunk (64-row tiles: 64, from
// L2 where it leaves L1), 64 rows x 128 B = 8 KiB of accumulators. Against
// 128: a band call's fixed cost (16 accumulators, their sum, a mispredicted
// exit) spread over twice the non-zeros; ResNet-50 90% (1x1 layers of 10-30
// non-zeros a row) 15.4-16.0 -> 14.5-15.0 ms, BERT-base shapes within 2%
// (Zen 5, AVX-512 and AVX2 code; 1 thread).
constexpr int64_t kF32Kc = 256, kF32BlockRows = 64;
// u8s8 pairs: 768 K x 16 int16 = 24 KiB of tile, 32 bands x 4 rows x 64 B = 8 KiB of accumulators
// (against 256: a band call's fixed cost spread over 3x the groups; AVX2
// code on Zen 5, 1 thread: 4x1 M=1 4096^2 90% 175 -> 100 us, M=8 322 -> 285,
// M=128 equal or up to 4% faster; 1x4 K pairs M=8 773 -> 485, M=128 90%
// 4-8% faster, 70% within noise; 2048 was slower at M=8);
// quads on 1-row bands: 1024 K x 64 u8 = 64 KiB of tile, from L2 where it
// leaves L1 (384, 24 KiB, was 4-7% faster than 256 once; against 384 now,
// Zen 5 VNNI, 1 thread: M=128 1x4 768 x 768 90% 39.7 -> 35.6 us, 3072 x 768
// 201 -> 191, 768 x 3072 151 -> 141 but 70% 343 -> 358; 4096^2 1x4 M=1 90%
// 173 -> 134, M=8 505 -> 248, unstructured M=8 672 -> 448; 1536 and 2048
// made 768 x 3072 70% slower still).
// Quads on 4-row bands (4x1): 2048 K, the whole K of BERT's 768-deep layers
// (a 48-128 KiB tile chunk, from L2 where it leaves L1). Their kernel runs at
// vpdpbusd's 2 a cycle inside a band (the unpacks issue beside it on Zen 5),
// so each band call's fixed cost (16 accumulators loaded or zeroed and
// stored, a mispredicted exit at ~10 groups a chunk at 90%) was ~30% of it;
// whole bands: 128 x 768 x 768 90% 29-31 -> 26-27 us, 3072 x 768 153-163 ->
// 141-146, 768 x 3072 109-112 -> 95 (2048 + 1024), 70% within noise; M=8/32
// at 4096^2 faster too (4096 in one chunk was slower there). (1-row bands:
// whole K was 20-30% slower at M=128 70% with 64-row tiles, 1x4 768 x 3072.)
constexpr int64_t kS8Kc = 768, kS8QuadKc = 1024, kS8QuadBand4Kc = 2048, kS8BlockBands = 32, kS8QuadBlockBands = 16;
static_assert(kS8QuadKc % 4 == 0 && kS8QuadBand4Kc % 4 == 0 && kS8Kc % 2 == 0,
              "1x4 quads / pairs (k_block 4 / 2) must not straddle K chunks");

uint64_t mix(uint64_t h, uint64_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 12) + (h >> 4)); }

void init_layout(PackedSparse& p, int64_t kc, int64_t block_bands) {
  p.kc = kc;
  p.chunks = (p.k + kc - 1) / kc;
  p.block_bands = block_bands;
  p.blocks = (p.bands + block_bands - 1) / block_bands;
  p.groups_per_band.assign(static_cast<size_t>(p.bands * p.chunks), 0);
  p.segment_begin.assign(static_cast<size_t>(p.blocks * p.chunks + 1), 0);
}

// Walks the (block, chunk, band) order; emit(band, c0, c1) appends the band's
// groups for K in [c0, c1) and returns how many.
template <typename Emit>
void build(PackedSparse& p, Emit emit) {
  int64_t segment = 0, groups = 0;
  for (int64_t blk = 0; blk < p.blocks; ++blk)
    for (int64_t ch = 0; ch < p.chunks; ++ch) {
      p.segment_begin[static_cast<size_t>(segment++)] = groups;
      const int64_t c0 = ch * p.kc, c1 = std::min(p.k, c0 + p.kc);
      int32_t* counts = p.groups_per_band.data() + p.count_offset(blk, ch);
      for (int64_t i = 0; i < p.bands_in_block(blk); ++i) {
        counts[i] = emit(blk * p.block_bands + i, c0, c1);
        groups += counts[i];
      }
    }
  p.segment_begin[static_cast<size_t>(segment)] = groups;
  uint64_t h = mix(mix(mix(static_cast<uint64_t>(p.n), static_cast<uint64_t>(p.k)), p.band_rows),
                   static_cast<uint64_t>(p.dtype));
  h = mix(mix(mix(h, static_cast<uint64_t>(p.kc)), static_cast<uint64_t>(p.block_bands)), static_cast<uint64_t>(p.group));
  h = mix(h, static_cast<uint64_t>(p.k_block));
  for (int32_t c : p.groups_per_band) h = mix(h, static_cast<uint32_t>(c));
  for (int32_t i : p.kidx) h = mix(h, static_cast<uint32_t>(i));
  p.fingerprint = h;
}

}  // namespace

int64_t PackedSparse::packed_bytes() const {
  return static_cast<int64_t>(kidx.size() * sizeof(int32_t) + values_f32.size() * sizeof(float) +
                              values_s16x2.size() * sizeof(int32_t) + values_s8x4.size() * sizeof(int32_t) +
                              groups_per_band.size() * sizeof(int32_t));
}

PackedSparse pack_sparse_f32(const float* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                             int32_t band_rows) {
  PackedSparse p;
  p.dtype = SpmmDType::kF32;
  p.n = n;
  p.k = k;
  p.band_rows = band_rows;
  p.group = 1;
  p.bands = (n + band_rows - 1) / band_rows;
  init_layout(p, kF32Kc, kF32BlockRows / band_rows);
  auto at = [&](int64_t r, int64_t c) { return r < n ? w[r * stride_n + c * stride_k] : 0.f; };
  build(p, [&](int64_t b, int64_t c0, int64_t c1) {
    int32_t count = 0;
    for (int64_t c = c0; c < c1; ++c) {
      int32_t nz = 0;
      for (int32_t r = 0; r < band_rows; ++r) nz += at(b * band_rows + r, c) != 0.f;
      if (nz == 0) continue;
      p.nnz += nz;
      p.kidx.push_back(static_cast<int32_t>(c));
      for (int32_t r = 0; r < band_rows; ++r) p.values_f32.push_back(at(b * band_rows + r, c));
      ++count;
    }
    return count;
  });
  return p;
}

PackedSparse pack_sparse_s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                            int32_t band_rows, int32_t group, int32_t k_block) {
  PackedSparse p;
  p.dtype = SpmmDType::kU8S8;
  p.n = n;
  p.k = k;
  p.band_rows = band_rows;
  p.group = group;
  // 1x4 blocks on 1-row bands: groups of aligned K quads (quads) or pairs (pairs).
  p.k_block = band_rows == 1 && k_block == 4 ? group : 1;
  p.bands = (n + band_rows - 1) / band_rows;
  const bool quads = group == 4;
  const int64_t kc = !quads ? kS8Kc : band_rows == 4 ? kS8QuadBand4Kc : kS8QuadKc;
  init_layout(p, kc, quads ? kS8QuadBlockBands : kS8BlockBands);
  auto at = [&](int64_t r, int64_t c) -> int32_t { return r < n ? w[r * stride_n + c * stride_k] : 0; };
  if (quads) {  // in memory order: W often comes as [K, N] (stride_n = 1)
    p.row_sums.assign(static_cast<size_t>(n), 0);
    int32_t* sums = p.row_sums.data();
    if (stride_n >= stride_k) {
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < k; ++c) sums[r] += w[r * stride_n + c * stride_k];
    } else {
      for (int64_t c = 0; c < k; ++c)
        for (int64_t r = 0; r < n; ++r) sums[r] += w[r * stride_n + c * stride_k];
    }
  }
  std::vector<int32_t> cols;
  if (p.k_block > 1) {  // one K index per group, its first: 4q (quads) or 2p (pairs)
    const int64_t kb = p.k_block, bits = 32 / kb;
    build(p, [&](int64_t r, int64_t c0, int64_t c1) {
      int32_t count = 0;
      for (int64_t c = c0; c < c1; c += kb) {
        int32_t nz = 0;
        for (int64_t j = c; j < std::min(c + kb, c1); ++j) nz += at(r, j) != 0;
        if (nz == 0) continue;
        p.nnz += nz;
        uint32_t packed = 0;
        p.kidx.push_back(static_cast<int32_t>(c));
        for (int64_t j = 0; j < kb && c + j < c1; ++j)
          packed |= (static_cast<uint32_t>(at(r, c + j)) & ((1u << bits) - 1)) << (bits * j);
        (quads ? p.values_s8x4 : p.values_s16x2).push_back(static_cast<int32_t>(packed));
        ++count;
      }
      return count;
    });
    return p;
  }
  build(p, [&](int64_t b, int64_t c0, int64_t c1) {
    cols.clear();
    for (int64_t c = c0; c < c1; ++c) {
      bool any = false;
      for (int32_t r = 0; r < band_rows; ++r) {
        const int32_t v = at(b * band_rows + r, c);
        any |= v != 0;
        p.nnz += v != 0;
      }
      if (any) cols.push_back(static_cast<int32_t>(c));
    }
    while (cols.size() % static_cast<size_t>(group) != 0) cols.push_back(-1);  // pad: zero weights
    for (size_t g = 0; g < cols.size(); g += static_cast<size_t>(group)) {
      // A pad points at the chunk's first column (a valid tile row) with weight 0.
      for (int32_t j = 0; j < group; ++j) p.kidx.push_back(cols[g + j] < 0 ? static_cast<int32_t>(c0) : cols[g + j]);
      for (int32_t r = 0; r < band_rows; ++r) {
        const int64_t row = b * band_rows + r;
        uint32_t packed = 0;
        for (int32_t j = 0; j < group; ++j) {
          const int32_t v = cols[g + j] < 0 ? 0 : at(row, cols[g + j]);
          packed |= quads ? static_cast<uint32_t>(static_cast<uint8_t>(v)) << (8 * j)
                          : static_cast<uint32_t>(static_cast<uint16_t>(v)) << (16 * j);
        }
        (quads ? p.values_s8x4 : p.values_s16x2).push_back(static_cast<int32_t>(packed));
      }
    }
    return static_cast<int32_t>(cols.size() / static_cast<size_t>(group));
  });
  return p;
}

double fraction_of_zeros_in_4x1_blocks(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k) {
  int64_t zeros = 0, in_blocks = 0;
  for (int64_t b = 0; b < n / 4; ++b)
    for (int64_t c = 0; c < k; ++c) {
      int32_t z = 0;
      for (int r = 0; r < 4; ++r) z += w[(4 * b + r) * stride_n + c * stride_k] == 0;
      zeros += z;
      if (z == 4) in_blocks += 4;
    }
  return zeros == 0 ? 0.0 : static_cast<double>(in_blocks) / static_cast<double>(zeros);
}

}  // namespace sparsert::jit
