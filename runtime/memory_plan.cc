#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace sparsert {
namespace {

constexpr size_t kAlign = 64;
size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

MemoryLayout plan_memory(const std::vector<BlockRequest>& blocks) {
  const size_t n = blocks.size();
  // Merge in-place chains into groups sharing one range: a block may reuse an
  // input block that is read for the last time where this one is produced, has
  // the same size, and was not taken over already.
  std::vector<int> group(n);
  std::iota(group.begin(), group.end(), 0);
  std::vector<bool> taken(n, false);
  MemoryLayout layout;
  for (size_t i = 0; i < n; ++i) {
    const int r = blocks[i].reuse;
    if (r < 0 || static_cast<size_t>(r) >= i || taken[r]) continue;
    if (blocks[r].last_step != blocks[i].first_step || blocks[r].bytes != blocks[i].bytes) continue;
    taken[r] = true;
    group[i] = group[r];
    ++layout.in_place;
  }
  struct Group { int first = 0, last = 0; size_t bytes = 0; };
  std::vector<Group> groups(n);
  std::vector<bool> used(n, false);
  for (size_t i = 0; i < n; ++i) {
    Group& g = groups[group[i]];
    if (!used[group[i]]) { g = {blocks[i].first_step, blocks[i].last_step, blocks[i].bytes}; used[group[i]] = true; }
    else { g.first = std::min(g.first, blocks[i].first_step); g.last = std::max(g.last, blocks[i].last_step); }
  }
  std::vector<int> order;
  for (size_t i = 0; i < n; ++i)
    if (used[i]) order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return groups[a].bytes > groups[b].bytes; });
  std::vector<size_t> group_offset(n, 0);
  struct Placed { int first, last; size_t begin, end; };
  std::vector<Placed> placed;
  for (int gi : order) {
    const Group& g = groups[gi];
    const size_t size = align_up(g.bytes);
    // Ranges of blocks alive at the same time, sorted; take the first gap that fits.
    std::vector<std::pair<size_t, size_t>> busy;
    for (const Placed& p : placed)
      if (p.first <= g.last && g.first <= p.last) busy.push_back({p.begin, p.end});
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [b, e] : busy) {
      if (offset + size <= b) break;
      offset = std::max(offset, e);
    }
    group_offset[gi] = offset;
    placed.push_back({g.first, g.last, offset, offset + size});
    layout.total_bytes = std::max(layout.total_bytes, offset + size);
  }
  layout.offsets.resize(n);
  for (size_t i = 0; i < n; ++i) layout.offsets[i] = group_offset[group[i]];
  return layout;
}

}  // namespace sparsert
