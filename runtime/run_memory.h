// Per-run output memory: the executor's OutputAllocator. The first run with a
// given set of input shapes records every output allocation, which values
// alias it (zero-copy views such as Reshape) and when each is last read; that
// becomes a MemoryPattern (runtime/memory_plan.h offsets in one arena). Later
// runs with the same input shapes take their outputs from one arena buffer
// (pooled across runs, one per concurrent run) instead of the heap, so a
// steady-state run does no large allocation, page faults or zeroing of fresh
// pages. Graph outputs never live in the arena: they are returned to the caller.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.h"
#include "ops/registry.h"

namespace sparsert {

struct MemoryPattern {
  struct Slot {
    size_t offset = 0;
    size_t bytes = 0;  // 0: not planned (heap)
  };
  std::vector<std::vector<Slot>> slots;  // [step][output]
  size_t total_bytes = 0;
  int blocks = 0;
  int in_place = 0;
};

// Records one run's allocations (the first run of an input signature).
class MemoryRecorder : public OutputAllocator {
 public:
  MemoryRecorder(const Graph& graph, size_t num_steps);
  void begin_step(int step);
  void* allocate(int output, size_t bytes) override;
  // After the kernel of `node` ran: classify its outputs (new allocation, alias
  // of a live one, or foreign memory). `in_place_ok`: output 0 may take over an
  // input's buffer that dies here.
  void end_step(const Node& node, const std::vector<Tensor>& outs, bool in_place_ok);
  void release(ValueId v);
  MemoryPattern finish(const std::vector<ValueId>& graph_outputs) const;

 private:
  struct Alloc {
    int step, output;
    size_t bytes;
    const char* begin;
    int last_step;
    int refs = 0;
    int reuse = -1;
  };
  size_t num_steps_;
  int step_ = 0;
  std::map<int, size_t> pending_;  // output -> bytes asked for in this step
  std::vector<Alloc> allocs_;
  std::vector<int> value_alloc_;
};

// Serves the outputs of a run from an arena laid out by a pattern.
class ArenaAllocator : public OutputAllocator {
 public:
  ArenaAllocator(const MemoryPattern& pattern, char* arena) : pattern_(pattern), arena_(arena) {}
  void begin_step(int step) { step_ = step; }
  void* allocate(int output, size_t bytes) override;
  bool owns(const void* p) const;

 private:
  const MemoryPattern& pattern_;
  char* arena_;
  int step_ = 0;
};

// Patterns by input signature, and a pool of arena buffers; thread-safe.
class MemoryPlanner {
 public:
  static std::string signature(const std::vector<const Tensor*>& inputs);
  std::shared_ptr<const MemoryPattern> find(const std::string& sig) const;
  void add(const std::string& sig, MemoryPattern pattern);
  // A buffer of at least `bytes` (64-byte aligned), and its return.
  std::shared_ptr<char> take_arena(size_t bytes);
  void give_back(std::shared_ptr<char> arena, size_t bytes);
  // The most recently planned pattern (nullptr before the first run).
  std::shared_ptr<const MemoryPattern> latest() const;

 private:
  std::shared_ptr<const MemoryPattern> latest_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const MemoryPattern>> patterns_;
  std::vector<std::pair<size_t, std::shared_ptr<char>>> free_arenas_;
};

}  // namespace sparsert
