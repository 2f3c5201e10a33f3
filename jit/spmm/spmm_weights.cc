#include "jit/spmm/spmm_weights.h"

namespace sparsert::jit {
namespace {

uint64_t mix(uint64_t h, uint64_t v) { return h ^ (v + 0x9e3779b97f4a7c15ull + (h << 12) + (h >> 4)); }

void finish(PackedSparse& p) {
  p.group_begin.assign(static_cast<size_t>(p.bands + 1), 0);
  for (int64_t b = 0; b < p.bands; ++b) p.group_begin[b + 1] = p.group_begin[b] + p.groups_per_band[b];
  uint64_t h = mix(mix(mix(static_cast<uint64_t>(p.n), static_cast<uint64_t>(p.k)), p.band_rows),
                   static_cast<uint64_t>(p.dtype));
  for (int32_t c : p.groups_per_band) h = mix(h, static_cast<uint32_t>(c));
  for (int32_t i : p.kidx) h = mix(h, static_cast<uint32_t>(i));
  p.fingerprint = h;
}

}  // namespace

int64_t PackedSparse::packed_bytes() const {
  return static_cast<int64_t>(kidx.size() * sizeof(int32_t) + values_f32.size() * sizeof(float) +
                              values_s16x2.size() * sizeof(int32_t) + groups_per_band.size() * sizeof(int32_t));
}

PackedSparse pack_sparse_f32(const float* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k) {
  PackedSparse p;
  p.dtype = SpmmDType::kF32;
  p.n = n;
  p.k = k;
  p.band_rows = 1;
  p.group = 1;
  p.bands = n;
  p.groups_per_band.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    int32_t count = 0;
    for (int64_t c = 0; c < k; ++c) {
      const float v = w[r * stride_n + c * stride_k];
      if (v == 0.f) continue;
      p.kidx.push_back(static_cast<int32_t>(c));
      p.values_f32.push_back(v);
      ++count;
    }
    p.groups_per_band[r] = count;
    p.nnz += count;
  }
  finish(p);
  return p;
}

PackedSparse pack_sparse_s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                            int32_t band_rows) {
  PackedSparse p;
  p.dtype = SpmmDType::kU8S8;
  p.n = n;
  p.k = k;
  p.band_rows = band_rows;
  p.group = 2;
  p.bands = (n + band_rows - 1) / band_rows;
  p.groups_per_band.resize(static_cast<size_t>(p.bands));
  auto at = [&](int64_t r, int64_t c) -> int32_t { return r < n ? w[r * stride_n + c * stride_k] : 0; };
  std::vector<int32_t> cols;
  for (int64_t b = 0; b < p.bands; ++b) {
    cols.clear();
    for (int64_t c = 0; c < k; ++c) {
      bool any = false;
      for (int32_t r = 0; r < band_rows; ++r) {
        const int32_t v = at(b * band_rows + r, c);
        any |= v != 0;
        p.nnz += v != 0;
      }
      if (any) cols.push_back(static_cast<int32_t>(c));
    }
    const bool odd = cols.size() % 2 != 0;
    if (odd) cols.push_back(-1);  // pad: a zero weight against column 0
    for (size_t g = 0; g < cols.size(); g += 2) {
      p.kidx.push_back(cols[g]);
      p.kidx.push_back(cols[g + 1] < 0 ? 0 : cols[g + 1]);
      for (int32_t r = 0; r < band_rows; ++r) {
        const int64_t row = b * band_rows + r;
        const int32_t lo = at(row, cols[g]);
        const int32_t hi = cols[g + 1] < 0 ? 0 : at(row, cols[g + 1]);
        p.values_s16x2.push_back(static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint16_t>(lo))) |
                                                      (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16)));
      }
    }
    p.groups_per_band[b] = static_cast<int32_t>(cols.size() / 2);
  }
  finish(p);
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
