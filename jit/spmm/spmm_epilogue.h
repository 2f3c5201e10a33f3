// The SpMM epilogue: turns one tile's accumulators ([rows][mr] from the bands,
// [mt][ld_acc] from the dense tiles)
// into rows of Y[M, N] while they are hot in L1, applying the descriptor's
// post-op chain: int8 dequantize (x_scale * w_scale[n]) first, then bias /
// ReLU / GELU / residual add in chain order, then the output conversion
// (f32, or requantize to u8/s8 with saturation; s32 passes through).
#pragma once

#include <cstdint>

#include "jit/spmm/spmm.h"

namespace sparsert::jit {

struct EpilogueTile {
  const void* acc;  // f32 or s32 [rows][mr]
  int mr;
  int64_t m0;       // first activation row of the tile
  int64_t mt;       // valid rows of the tile (<= mr)
  int64_t n0;       // first output channel
  int64_t rows;     // output channels in acc
  // > 0: acc is s32 row-major [mt][ld_acc] instead (the dense tiles; mr unused).
  int64_t ld_acc = 0;
  // Set by spmm_epilogue (where SpmmRunArgs::y_range is) for its build: {lo,
  // hi} that the tile's f32 output values widen (`v < lo ? v : lo`, `v > hi ?
  // v : hi`: NaN never enters).
  float* range = nullptr;
};

// Runs the AVX-512 or AVX2 build where the descriptor's ISA cap allows it.
void spmm_epilogue(const SpmmDesc& d, const SpmmRunArgs& a, const EpilogueTile& t);

namespace epilogue_avx2 {
void spmm_epilogue(const SpmmDesc& d, const SpmmRunArgs& a, const EpilogueTile& t) noexcept;
}  // namespace epilogue_avx2
namespace epilogue_avx512 {
void spmm_epilogue(const SpmmDesc& d, const SpmmRunArgs& a, const EpilogueTile& t) noexcept;
}  // namespace epilogue_avx512

}  // namespace sparsert::jit
