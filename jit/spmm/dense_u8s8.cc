#include "jit/spmm/dense_u8s8.h"

#include <cstdlib>
#include <cstring>

namespace sparsert::jit {
namespace {

constexpr int kSafePairMagnitude = 128;  // 255 * 128 = 32640 fits int16

int32_t magnitude(int32_t v) { return v < 0 ? -v : v; }

// The part of pair (a, b) that W1 keeps for `a`: all of it when the pair is
// safe, else `a` cut back toward zero so that |a'| + |b| = 128 when a is the
// larger of the two (the smaller one is kept whole).
int32_t kept(int32_t a, int32_t b) {
  if (magnitude(a) + magnitude(b) <= kSafePairMagnitude || magnitude(a) < magnitude(b)) return a;
  const int32_t room = kSafePairMagnitude - magnitude(b);
  return a < 0 ? -room : room;
}

}  // namespace

int64_t PackedDenseU8S8::packed_bytes() const {
  return groups * quads * kCols * 4 +
         static_cast<int64_t>((column_sums.size() + fix_begin.size() + fix_k.size() + fix_w.size()) * sizeof(int32_t));
}

int64_t count_dense_u8s8_fixes(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k) {
  int64_t fixes = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c + 1 < k; c += 2)
      fixes += magnitude(w[r * stride_n + c * stride_k]) + magnitude(w[r * stride_n + (c + 1) * stride_k]) >
               kSafePairMagnitude;
  return fixes;
}

PackedDenseU8S8 pack_dense_u8s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k) {
  PackedDenseU8S8 p;
  p.n = n;
  p.k = k;
  p.quads = (k + 3) / 4;
  p.groups = (n + PackedDenseU8S8::kCols - 1) / PackedDenseU8S8::kCols;
  const size_t bytes = static_cast<size_t>(p.groups * p.quads * PackedDenseU8S8::kCols * 4);
  p.w = std::unique_ptr<int8_t[], void (*)(void*)>(static_cast<int8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)),
                                                   std::free);
  std::memset(p.w.get(), 0, bytes);
  p.column_sums.assign(static_cast<size_t>(p.groups * PackedDenseU8S8::kCols), 0);
  p.fix_begin.assign(static_cast<size_t>(n + 1), 0);
  auto at = [&](int64_t r, int64_t c) -> int32_t { return c < k ? w[r * stride_n + c * stride_k] : 0; };
  for (int64_t r = 0; r < n; ++r) {
    const int64_t g = r / PackedDenseU8S8::kCols, col = r % PackedDenseU8S8::kCols;
    int8_t* dst = p.w.get() + g * p.quads * PackedDenseU8S8::kCols * 4 + col * 4;
    int32_t sum = 0;
    for (int64_t c = 0; c < k; c += 2) {
      const int32_t a = at(r, c), b = at(r, c + 1);
      const int32_t ka = kept(a, b), kb = kept(b, a);
      dst[(c / 4) * PackedDenseU8S8::kCols * 4 + c % 4] = static_cast<int8_t>(ka);
      dst[(c / 4) * PackedDenseU8S8::kCols * 4 + c % 4 + 1] = static_cast<int8_t>(kb);
      sum += ka + kb;
      if (ka != a) {
        p.fix_k.push_back(static_cast<int32_t>(c));
        p.fix_w.push_back(a - ka);
      }
      if (kb != b) {
        p.fix_k.push_back(static_cast<int32_t>(c + 1));
        p.fix_w.push_back(b - kb);
      }
    }
    p.column_sums[static_cast<size_t>(r)] = sum;
    p.fix_begin[static_cast<size_t>(r + 1)] = static_cast<int32_t>(p.fix_k.size());
  }
  uint64_t h = 0xd5e7ull;
  for (uint64_t v : {static_cast<uint64_t>(n), static_cast<uint64_t>(k), static_cast<uint64_t>(p.fixes())})
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 12) + (h >> 4);
  p.fingerprint = h;
  return p;
}

void dense_u8s8_tile_generic(const uint8_t* x, int64_t ldx, const int8_t* group_w, int64_t quads, int32_t* out,
                             int64_t ld_out_bytes, int64_t accumulate, int mr) {
  constexpr int kCols = PackedDenseU8S8::kCols;
  for (int m = 0; m < mr; ++m) {
    int32_t acc[kCols] = {};
    if (accumulate) std::memcpy(acc, reinterpret_cast<const uint8_t*>(out) + m * ld_out_bytes, sizeof acc);
    const uint8_t* xr = x + m * ldx;
    for (int64_t q = 0; q < quads; ++q) {
      const int8_t* wq = group_w + q * kCols * 4;
      for (int c = 0; c < kCols; ++c)
        for (int j = 0; j < 4; ++j) acc[c] += static_cast<int32_t>(xr[4 * q + j]) * wq[c * 4 + j];
    }
    std::memcpy(reinterpret_cast<uint8_t*>(out) + m * ld_out_bytes, acc, sizeof acc);
  }
}

void finish_dense_u8s8(const PackedDenseU8S8& w, const uint8_t* x, int64_t ldx, int64_t mt, int32_t x_zero_point,
                       int64_t n0, int64_t count, int32_t* acc, int64_t ld_acc, const int32_t* remainder,
                       int64_t ld_remainder) {
  if (x_zero_point != 0)
    for (int64_t m = 0; m < mt; ++m) {
      int32_t* row = acc + m * ld_acc;
      const int32_t* sums = w.column_sums.data() + n0;
      for (int64_t c = 0; c < count; ++c) row[c] -= x_zero_point * sums[c];
    }
  if (remainder != nullptr) {
    for (int64_t m = 0; m < mt; ++m) {
      int32_t* row = acc + m * ld_acc;
      const int32_t* r = remainder + m * ld_remainder;
      for (int64_t c = 0; c < count; ++c) row[c] += r[c];
    }
    return;
  }
  for (int64_t c = 0; c < count; ++c) {
    const int64_t n = n0 + c;
    for (int32_t e = w.fix_begin[static_cast<size_t>(n)]; e < w.fix_begin[static_cast<size_t>(n + 1)]; ++e) {
      const int32_t kk = w.fix_k[static_cast<size_t>(e)], fw = w.fix_w[static_cast<size_t>(e)];
      for (int64_t m = 0; m < mt; ++m) acc[m * ld_acc + c] += (static_cast<int32_t>(x[m * ldx + kk]) - x_zero_point) * fw;
    }
  }
}

}  // namespace sparsert::jit
