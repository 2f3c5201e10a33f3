// The SpMM micro-kernel contract, shared by the Xbyak generators and their
// plain C++ twins. One call computes, for one tile of `mr` activation rows, the
// accumulators of `bands` consecutive bands of W:
//   out[b * band_rows + r][j] = sum over the band's groups of x_tile . w
// Tiles are packed per call from X (M x K) so a K index addresses one
// contiguous vector of the tile:
//   f32:  x_tile[k][mr] floats (mr = 1, 8, 16 or 32; 1, 8 or 16 for 4-row bands),
//         out f32 [rows][mr]
//   u8s8: x_tile[k][16] int16 = x - x_zero_point, columns in kU8S8TileOrder so
//         that vpunpck{l,h}wd of two K rows yields pairs for m 0..7 and 8..15;
//         out s32 [rows][16] in natural m order; or (mr = 1, one row)
//         x_tile[k] int16 and out s32 [rows][1].
//   u8s8 quads (AVX512_VNNI): x_tile[k][64] u8 as is (the zero point is taken
//         out afterwards with the weights' row sums), columns in
//         u8s8_quad_tile_row(p) order so that vpunpck{l,h}bw then
//         vpunpck{l,h}wd of four K rows yield 4 zmm of 16 byte quads each,
//         zmm v covering m 16v..16v+15; out s32 [rows][64] in natural m
//         order; or (mr = 1) x_tile[k] u8 and out s32 [rows][1].
//         Small M: 16-row tiles, x_tile[k][16] u8 in natural row order (the
//         kernel transposes each group's 4 K rows in a zmm), out [rows][16].
//   u8s8 quads of 1x4 blocks (k_block 4, 1-row bands, AVX512_VNNI): x_tile
//         [K / 4][mr][4] u8 (mr 64 or 16): the dword of quad q and activation
//         row m at 4 (mr q + m), K padded with zeros to quads; a group's one
//         K index 4q addresses it. out s32 [bands][mr]; mr = 1 as for other quads.
//   u8s8 pairs of 1x4 blocks (k_block 2, 1-row bands, AVX2 / AVX-512): x_tile
//         [K / 2][mr][2] int16 = x - x_zero_point (mr 16, natural row order,
//         or 1: the row itself), K padded with a zero to pairs; a group's one
//         K index 2p addresses pair p, the dword at 4 (mr p + m). out s32 [bands][mr].
// Keep the argument layout in sync with the generators (offsets below).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sparsert::jit {

struct SpmmTileArgs {
  const void* x;                   // packed activation tile
  const int32_t* groups_per_band;  // first band's entry
  const int32_t* kidx;             // first band's first group
  const void* values;              // first band's first group
  void* out;                       // [bands * band_rows][mr]
  int64_t bands;
  int64_t accumulate;              // 0: out = result; else out += result (later K chunks)
  // u8s8 quads only: per band row (first band's first row), x_zero_point x
  // the row's weight sum, subtracted from the result; null: nothing to take
  // out (not the last K chunk, or zero point 0). Other kernels ignore it.
  const int32_t* zero_point_fix;
  // The u8s8 one-row kernels of 1-row bands only: (groups of the call + 1)
  // int32 of scratch for their running sums (others ignore it).
  int32_t* scratch = nullptr;
};
static_assert(offsetof(SpmmTileArgs, x) == 0 && offsetof(SpmmTileArgs, groups_per_band) == 8 &&
                  offsetof(SpmmTileArgs, kidx) == 16 && offsetof(SpmmTileArgs, values) == 24 &&
                  offsetof(SpmmTileArgs, out) == 32 && offsetof(SpmmTileArgs, bands) == 40 &&
                  offsetof(SpmmTileArgs, accumulate) == 48 && offsetof(SpmmTileArgs, zero_point_fix) == 56 &&
                  offsetof(SpmmTileArgs, scratch) == 64,
              "generators address SpmmTileArgs by these offsets");

using SpmmTileFn = void (*)(const SpmmTileArgs*);

constexpr int kU8S8TileRows = 16;
// Position p of a packed u8s8 tile row holds activation row kU8S8TileOrder[p]
// (an involution: it is also the position of row p).
constexpr int kU8S8TileOrder[16] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};

constexpr int kU8S8QuadTileRows = 64;
// Small-M quad tiles: 16 rows in natural order, x_tile[k][16] u8 (1x4: [K/4][16][4]).
constexpr int kU8S8QuadSmallTileRows = 16;
// Position p = 16 * lane + 4 * v + j of a quad tile row holds activation row
// 16 * v + 4 * lane + j (an involution: lane and v swap), because the unpacks
// work within 128-bit lanes.
constexpr int u8s8_quad_tile_row(int p) { return 16 * (p / 4 % 4) + 4 * (p / 16) + p % 4; }


// Plain C++ micro-kernels (the "generic" ISA and the JIT kernels' twins).
void spmm_f32_tile_generic(const SpmmTileArgs* a, int mr, int band_rows);
void spmm_u8s8_tile_generic(const SpmmTileArgs* a, int mr, int band_rows);
void spmm_u8s8_quad_tile_generic(const SpmmTileArgs* a, int mr, int band_rows);
void spmm_u8s8_kquad_tile_generic(const SpmmTileArgs* a, int mr);  // 1x4 blocks, 1-row bands
void spmm_u8s8_kpair_tile_generic(const SpmmTileArgs* a, int mr);  // 1x4 blocks as pairs, 1-row bands

}  // namespace sparsert::jit
