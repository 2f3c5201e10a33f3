// Per-thread scratch buffers that only grow (no allocation per run in steady
// state), handed out 64-byte aligned: kernels load their packed tiles and
// accumulators as whole zmm vectors, and one that straddles two cache lines
// costs two L1 accesses. A std::vector's heap block is only 16-byte aligned:
// the f32 SpMM ran 1.48x slower from such a buffer (768x768 90%, AVX-512).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparsert {

inline constexpr size_t kScratchAlign = 64;

// At least `bytes` bytes of buf, starting at a 64-byte boundary; buf grows
// (and its old contents are not kept in place) when too small.
inline uint8_t* grow_aligned_scratch(std::vector<uint8_t>& buf, size_t bytes) {
  if (buf.size() < bytes + kScratchAlign - 1) buf.resize(bytes + kScratchAlign - 1);
  const uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + (kScratchAlign - p % kScratchAlign) % kScratchAlign;
}

}  // namespace sparsert
