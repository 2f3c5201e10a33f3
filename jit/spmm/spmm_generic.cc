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

namespace {

// Both u8s8 layouts: groups of kGroup K indices whose band-row dword holds
// kGroup weights (pairs: int16 halves against the int16 tile x - zero point;
// quads: s8 bytes against the raw u8 tile, the zero point taken out by
// zero_point_fix at the end). X rows are in the layout's tile order at its full height.
template <typename X, int kGroup>
void u8s8_tile_generic(const SpmmTileArgs* a, int mr, int band_rows) {
  constexpr bool quads = kGroup == 4;
  const X* x = static_cast<const X*>(a->x);
  const int32_t* kidx = a->kidx;
  const int32_t* values = static_cast<const int32_t*>(a->values);
  int32_t* out = static_cast<int32_t*>(a->out);
  auto position = [mr](int m) {
    if constexpr (quads) return mr == kU8S8QuadTileRows ? u8s8_quad_tile_row(m) : m;
    else return mr == kU8S8TileRows ? kU8S8TileOrder[m] : m;
  };
  auto weight = [](uint32_t word, int j) -> int32_t {
    if constexpr (quads) return static_cast<int8_t>(word >> (8 * j));
    else return static_cast<int16_t>(word >> (16 * j));
  };
  for (int64_t b = 0; b < a->bands; ++b) {
    int32_t* o = out + b * band_rows * mr;
    if (!a->accumulate)
      for (int i = 0; i < band_rows * mr; ++i) o[i] = 0;
    for (int32_t g = 0; g < a->groups_per_band[b]; ++g) {
      const X* xk[kGroup];
      for (int j = 0; j < kGroup; ++j) xk[j] = x + static_cast<int64_t>(kidx[j]) * mr;
      kidx += kGroup;
      for (int r = 0; r < band_rows; ++r) {
        const uint32_t word = static_cast<uint32_t>(*values++);
        for (int m = 0; m < mr; ++m) {
          const int p = position(m);
          int32_t sum = 0;
          for (int j = 0; j < kGroup; ++j) sum += xk[j][p] * weight(word, j);
          o[r * mr + m] += sum;
        }
      }
    }
    if (quads && a->zero_point_fix != nullptr)
      for (int r = 0; r < band_rows; ++r)
        for (int m = 0; m < mr; ++m) o[r * mr + m] -= a->zero_point_fix[b * band_rows + r];
  }
}

}  // namespace

void spmm_u8s8_tile_generic(const SpmmTileArgs* a, int mr, int band_rows) {
  u8s8_tile_generic<int16_t, 2>(a, mr, band_rows);
}

void spmm_u8s8_quad_tile_generic(const SpmmTileArgs* a, int mr, int band_rows) {
  u8s8_tile_generic<uint8_t, 4>(a, mr, band_rows);
}

namespace {

// 1x4 blocks on 1-row bands (k_block kBlock): one K index a group, its first
// (kBlock * q), and the tile holds dense blocks [K / kBlock][mr][kBlock], so
// the group's values for all mr rows are at kidx * mr. Quads: raw u8 against
// s8 bytes, the zero point taken out by zero_point_fix at the end; pairs:
// int16 x - zero point against int16 halves.
template <typename X, int kBlock>
void u8s8_kblock_tile_generic(const SpmmTileArgs* a, int mr) {
  constexpr bool quads = kBlock == 4;
  const X* x = static_cast<const X*>(a->x);
  const int32_t* kidx = a->kidx;
  const int32_t* values = static_cast<const int32_t*>(a->values);
  int32_t* out = static_cast<int32_t*>(a->out);
  for (int64_t b = 0; b < a->bands; ++b) {
    int32_t* o = out + b * mr;
    if (!a->accumulate)
      for (int m = 0; m < mr; ++m) o[m] = 0;
    for (int32_t g = 0; g < a->groups_per_band[b]; ++g) {
      const X* block = x + static_cast<int64_t>(*kidx) * mr;  // (one row: the row's values kidx..)
      ++kidx;
      const uint32_t word = static_cast<uint32_t>(*values++);
      for (int m = 0; m < mr; ++m) {
        int32_t sum = 0;
        for (int j = 0; j < kBlock; ++j)
          sum += block[kBlock * m + j] *
                 (quads ? static_cast<int32_t>(static_cast<int8_t>(word >> (8 * j))) : static_cast<int16_t>(word >> (16 * j)));
        o[m] += sum;
      }
    }
    if (quads && a->zero_point_fix != nullptr)
      for (int m = 0; m < mr; ++m) o[m] -= a->zero_point_fix[b];
  }
}

}  // namespace

void spmm_u8s8_kquad_tile_generic(const SpmmTileArgs* a, int mr) { u8s8_kblock_tile_generic<uint8_t, 4>(a, mr); }

void spmm_u8s8_kpair_tile_generic(const SpmmTileArgs* a, int mr) { u8s8_kblock_tile_generic<int16_t, 2>(a, mr); }

}  // namespace sparsert::jit
