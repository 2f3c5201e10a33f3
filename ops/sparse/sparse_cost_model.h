// Should a constant weight run on the sparse kernels, and in which packing?
// Each choice estimates the sparse kernel's time relative to the dense path the
// layer would otherwise take, from per-stored-weight costs calibrated with
// perf/spmm_report.py (sparse and dense measured in the same run), not from a
// fixed sparsity threshold: e.g. int8 4x1 bands pay off at a density where
// 1-row bands do not. SessionOptions can override the choice for debugging.
#pragma once

#include <cstdint>
#include <string>

#include "jit/spmm/spmm_desc.h"

namespace sparsert {

enum class SparseMode : uint8_t {
  kAuto,    // cost model
  kAlways,  // every eligible constant weight runs sparse (debugging / tests)
  kNever,   // dense only
};

struct SparsePolicy {
  SparseMode mode = SparseMode::kAuto;
  // >= 0: run sparse exactly when the weight's sparsity (zero fraction) is at
  // least this, instead of the cost model.
  double sparsity_threshold = -1.0;
};

struct SparseChoice {
  // Runs on the jit::Spmm kernels: sparse bands, or (int8 without an exact
  // dense library: no VNNI, full-range weights) the exact dense tiles.
  bool sparse = false;
  jit::SpmmLayout layout = jit::SpmmLayout::kBands;
  int32_t band_rows = 1;        // 4 (4x1 bands) or 1
  int32_t k_block = 1;          // 4: 1-row bands of aligned K quads (VNNI) or pairs (1x4 blocks; int8)
  double estimated_ratio = 1.0; // sparse time / dense time, from the model
  std::string why;              // one line for --verbose / inspect
};

// w is N x K (element (r, c) at w[r * stride_n + c * stride_k]).
SparseChoice choose_sparse_f32(const float* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                               uint32_t isa_cap, const SparsePolicy& policy);
SparseChoice choose_sparse_s8(const int8_t* w, int64_t n, int64_t k, int64_t stride_n, int64_t stride_k,
                              uint32_t isa_cap, const SparsePolicy& policy);

}  // namespace sparsert
