// Plain C++ micro-kernels over the packed formats: what runs where no JIT
// generator applies (SPARSERT_ISA=generic, non-x86), and the generators' twins.
#include <cstring>

#include "jit/spmm/spmm_microkernel.h"

namespace sparsert::jit {

void spmm_f32_tile_generic(const SpmmTileArgs* a, int mr, int band_rows) {
  const float* x = static_cast<const float*>(a->x);
  const int32_t* kidx = a->kidx;
  const float* values = static_cast<const float*>(a->values);
  float* out = static_cast<float*>(a->out);
  float acc[4][32];
  for (int64_t b = 0; b < a->bands; ++b) {
    float* o = out + b * band_rows * mr;
    for (int r = 0; r < band_rows; ++r)
      for (int j = 0; j < mr; ++j) acc[r][j] = a->accumulate ? o[r * mr + j] : 0.f;
    for (int32_t g = 0; g < a->groups_per_band[b]; ++g) {
      const float* xk = x + static_cast<int64_t>(*kidx++) * mr;
      for (int r = 0; r < band_rows; ++r) {
        const float w = *values++;
        for (int j = 0; j < mr; ++j) acc[r][j] += w * xk[j];
      }
    }
    for (int r = 0; r < band_rows; ++r) std::memcpy(o + r * mr, acc[r], sizeof(float) * static_cast<size_t>(mr));
  }
}

void spmm_u8s8_tile_generic(const SpmmTileArgs* a, int mr, int band_rows) {
  const int16_t* x = static_cast<const int16_t*>(a->x);
  const int32_t* kidx = a->kidx;
  const int32_t* values = static_cast<const int32_t*>(a->values);
  int32_t* out = static_cast<int32_t*>(a->out);
  for (int64_t b = 0; b < a->bands; ++b) {
    int32_t* o = out + b * band_rows * mr;
    if (!a->accumulate)
      for (int i = 0; i < band_rows * mr; ++i) o[i] = 0;
    for (int32_t g = 0; g < a->groups_per_band[b]; ++g) {
      const int16_t* xa = x + static_cast<int64_t>(kidx[0]) * mr;
      const int16_t* xb = x + static_cast<int64_t>(kidx[1]) * mr;
      kidx += 2;
      for (int r = 0; r < band_rows; ++r) {
        const uint32_t pair = static_cast<uint32_t>(*values++);
        const int32_t wa = static_cast<int16_t>(pair & 0xffff), wb = static_cast<int16_t>(pair >> 16);
        for (int m = 0; m < mr; ++m) {
          const int p = mr == kU8S8TileRows ? kU8S8TileOrder[m] : m;
          o[r * mr + m] += xa[p] * wa + xb[p] * wb;
        }
      }
    }
  }
}

void spmm_u8s8_quad_tile_generic(const SpmmTileArgs* a, int mr, int band_rows) {
  const uint8_t* x = static_cast<const uint8_t*>(a->x);
  const int32_t* kidx = a->kidx;
  const int32_t* values = static_cast<const int32_t*>(a->values);
  int32_t* out = static_cast<int32_t*>(a->out);
  for (int64_t b = 0; b < a->bands; ++b) {
    int32_t* o = out + b * band_rows * mr;
    if (!a->accumulate)
      for (int i = 0; i < band_rows * mr; ++i) o[i] = 0;
    for (int32_t g = 0; g < a->groups_per_band[b]; ++g) {
      const uint8_t* xk[4];
      for (int j = 0; j < 4; ++j) xk[j] = x + static_cast<int64_t>(kidx[j]) * mr;
      kidx += 4;
      for (int r = 0; r < band_rows; ++r) {
        const uint32_t quad = static_cast<uint32_t>(*values++);
        for (int m = 0; m < mr; ++m) {
          const int p = mr == kU8S8QuadTileRows ? u8s8_quad_tile_row(m) : m;
          int32_t sum = 0;
          for (int j = 0; j < 4; ++j) sum += xk[j][p] * static_cast<int8_t>(quad >> (8 * j));
          o[r * mr + m] += sum;
        }
      }
    }
    if (a->zero_point_fix != nullptr)
      for (int r = 0; r < band_rows; ++r)
        for (int m = 0; m < mr; ++m) o[r * mr + m] -= a->zero_point_fix[b * band_rows + r];
  }
}

}  // namespace sparsert::jit
