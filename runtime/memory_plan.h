// Offsets in one arena for the node outputs of a run, from their lifetimes:
// blocks whose step intervals overlap get disjoint byte ranges; a block may
// take over the range of an input that dies at the step it is produced (in
// place). Greedy by size, largest first, lowest free offset (what ORT's and
// TFLite's arena planners do); O(n^2) in blocks, fine for thousands.
#pragma once

#include <cstddef>
#include <vector>

namespace sparsert {

struct BlockRequest {
  int first_step = 0;  // produced at this step
  int last_step = 0;   // last read at this step (inclusive)
  size_t bytes = 0;
  int reuse = -1;      // index of an earlier block whose bytes this one may take over in place
};

struct MemoryLayout {
  std::vector<size_t> offsets;  // per block, 64-byte aligned
  size_t total_bytes = 0;
  int in_place = 0;             // blocks that took over their input's range
};

MemoryLayout plan_memory(const std::vector<BlockRequest>& blocks);

}  // namespace sparsert
