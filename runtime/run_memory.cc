#include "runtime/run_memory.h"

#include <cstdlib>
#include <set>

#include "runtime/memory_plan.h"

namespace sparsert {
namespace {

// Bounds so a stream of new input shapes cannot grow memory without limit.
constexpr size_t kMaxPatterns = 32;
constexpr size_t kMaxPooledArenas = 4;

}  // namespace

MemoryRecorder::MemoryRecorder(const Graph& graph, size_t num_steps)
    : num_steps_(num_steps), value_alloc_(graph.num_values(), -1) {}

void MemoryRecorder::begin_step(int step) {
  step_ = step;
  pending_.clear();
}

void* MemoryRecorder::allocate(int output, size_t bytes) {
  pending_[output] = bytes;
  return nullptr;  // this run uses the heap; the pattern serves the next ones
}

void MemoryRecorder::end_step(const Node& node, const std::vector<Tensor>& outs, bool in_place_ok) {
  for (size_t i = 0; i < outs.size() && i < node.outputs.size(); ++i) {
    const ValueId v = node.outputs[i];
    if (v == kNoValue || outs[i].empty() || !outs[i].raw_data()) continue;
    const char* p = static_cast<const char*>(outs[i].raw_data());
    auto it = pending_.find(static_cast<int>(i));
    int id = -1;
    if (it != pending_.end()) {
      id = static_cast<int>(allocs_.size());
      allocs_.push_back({step_, static_cast<int>(i), it->second, p, step_});
      if (i == 0 && in_place_ok) {
        for (ValueId in : node.inputs) {
          const int a = in == kNoValue ? -1 : value_alloc_[static_cast<size_t>(in)];
          if (a >= 0 && allocs_[static_cast<size_t>(a)].bytes == it->second) { allocs_.back().reuse = a; break; }
        }
      }
    } else {
      // A view into a live allocation (Reshape, Squeeze, ...) extends its life.
      for (size_t a = 0; a < allocs_.size() && id < 0; ++a)
        if (allocs_[a].refs > 0 && p >= allocs_[a].begin && p < allocs_[a].begin + allocs_[a].bytes) id = static_cast<int>(a);
    }
    if (id < 0) continue;
    value_alloc_[static_cast<size_t>(v)] = id;
    ++allocs_[static_cast<size_t>(id)].refs;
  }
}

void MemoryRecorder::release(ValueId v) {
  const int a = value_alloc_[static_cast<size_t>(v)];
  if (a < 0) return;
  Alloc& al = allocs_[static_cast<size_t>(a)];
  al.last_step = std::max(al.last_step, step_);
  --al.refs;
}

MemoryPattern MemoryRecorder::finish(const std::vector<ValueId>& graph_outputs) const {
  // Allocations a graph output refers to stay on the heap.
  std::set<int> heap;
  for (ValueId v : graph_outputs)
    if (value_alloc_[static_cast<size_t>(v)] >= 0) heap.insert(value_alloc_[static_cast<size_t>(v)]);
  std::vector<BlockRequest> blocks;
  std::vector<int> block_of(allocs_.size(), -1);
  for (size_t a = 0; a < allocs_.size(); ++a) {
    const Alloc& al = allocs_[a];
    if (heap.count(static_cast<int>(a)) || al.bytes == 0) continue;
    block_of[a] = static_cast<int>(blocks.size());
    BlockRequest b;
    b.first_step = al.step;
    // Still referenced at the end (no reader released it): alive to the end of the run.
    b.last_step = al.refs > 0 ? static_cast<int>(num_steps_) : al.last_step;
    b.bytes = al.bytes;
    b.reuse = al.reuse >= 0 ? block_of[static_cast<size_t>(al.reuse)] : -1;
    blocks.push_back(b);
  }
  MemoryLayout layout = plan_memory(blocks);
  MemoryPattern p;
  p.slots.resize(num_steps_);
  for (size_t a = 0; a < allocs_.size(); ++a) {
    if (block_of[a] < 0) continue;
    const Alloc& al = allocs_[a];
    auto& step_slots = p.slots[static_cast<size_t>(al.step)];
    if (step_slots.size() <= static_cast<size_t>(al.output)) step_slots.resize(static_cast<size_t>(al.output) + 1);
    step_slots[static_cast<size_t>(al.output)] = {layout.offsets[static_cast<size_t>(block_of[a])], al.bytes};
  }
  p.total_bytes = layout.total_bytes;
  p.blocks = static_cast<int>(blocks.size());
  p.in_place = layout.in_place;
  return p;
}

void* ArenaAllocator::allocate(int output, size_t bytes) {
  const auto& step_slots = pattern_.slots[static_cast<size_t>(step_)];
  if (static_cast<size_t>(output) >= step_slots.size()) return nullptr;
  const MemoryPattern::Slot& s = step_slots[static_cast<size_t>(output)];
  // A size the pattern did not plan for (data-dependent shapes) goes to the heap.
  return s.bytes == bytes ? arena_ + s.offset : nullptr;
}

bool ArenaAllocator::owns(const void* p) const {
  const char* c = static_cast<const char*>(p);
  return c >= arena_ && c < arena_ + pattern_.total_bytes;
}

std::string MemoryPlanner::signature(const std::vector<const Tensor*>& inputs) {
  std::string s;
  for (const Tensor* t : inputs) {
    if (!t) { s += "-;"; continue; }
    s += t->type_string();
    s += ';';
  }
  return s;
}

std::shared_ptr<const MemoryPattern> MemoryPlanner::find(const std::string& sig) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = patterns_.find(sig);
  return it == patterns_.end() ? nullptr : it->second;
}

void MemoryPlanner::add(const std::string& sig, MemoryPattern pattern) {
  std::lock_guard<std::mutex> lock(mu_);
  if (patterns_.size() >= kMaxPatterns) patterns_.clear();
  latest_ = std::make_shared<const MemoryPattern>(std::move(pattern));
  patterns_.emplace(sig, latest_);
}

std::shared_ptr<const MemoryPattern> MemoryPlanner::latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

std::shared_ptr<char> MemoryPlanner::take_arena(size_t bytes) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < free_arenas_.size(); ++i) {
      if (free_arenas_[i].first < bytes) continue;
      std::shared_ptr<char> a = std::move(free_arenas_[i].second);
      free_arenas_.erase(free_arenas_.begin() + static_cast<std::ptrdiff_t>(i));
      return a;
    }
  }
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) return nullptr;
  return std::shared_ptr<char>(static_cast<char*>(p), [](char* q) { std::free(q); });
}

void MemoryPlanner::give_back(std::shared_ptr<char> arena, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_arenas_.size() < kMaxPooledArenas) free_arenas_.push_back({bytes, std::move(arena)});
}

}  // namespace sparsert
