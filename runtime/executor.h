// Executor: runs a Plan. Run() keeps all per-call state on its own stack, so
// concurrent calls are safe. Intra-op parallelism is OpenMP with the session's
// thread count (the runtime Debian's oneDNN uses; see ops/op_util.cc for why
// not a second, oneTBB pool). Optional per-node profiling (Chrome trace events).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/plan.h"
#include "runtime/run_memory.h"

namespace sparsert {

struct ProfileEvent {
  std::string name;
  std::string op;
  std::string kernel;
  int64_t start_us;
  int64_t duration_us;
  uint64_t thread;
};

class Executor {
 public:
  // options: the session's own (profiling, run memory, shape checks); the plan may be shared.
  Executor(const Plan& plan, const SessionOptions& options);
  // keep_intermediates: also return every value the nodes computed, in
  // execution order (heap-allocated and never released during the run: for
  // per-node accuracy checks, not for speed).
  StatusOr<std::vector<NamedTensor>> run(const std::vector<NamedTensor>& inputs,
                                         const std::vector<std::string>& output_names,
                                         bool keep_intermediates = false) const;
  // "arena 4.2 MiB for 310 node outputs (7 in place)" for the latest planned
  // input shapes, or "" before the first run / with mem patterns off.
  std::string memory_summary() const;
  // Writes the Chrome trace and stops profiling (as ORT's end_profiling does);
  // returns the path ("" when profiling is off or already ended).
  std::string end_profiling();
  // Each node's median profiled time over the runs so far, in microseconds
  // (empty when profiling is off or ended). Medians, not sums: a session's
  // first run takes the arena's page faults (BERT-base: ~1 ms a node against
  // a median of 15-300 us), which skewed every share computed from sums.
  std::map<std::string, int64_t> profiled_node_median_us() const;

 private:
  Status validate_inputs(const std::vector<NamedTensor>& inputs, std::vector<const Tensor*>& by_value,
                         std::map<std::string, int64_t>& bound) const;
  Status check_inferred(const Node& node, const std::vector<Tensor>& outs, std::map<std::string, int64_t>& bound) const;

  const Plan& plan_;
  const SessionOptions options_;
  std::atomic<bool> profiling_;
  std::chrono::steady_clock::time_point epoch_;
  mutable MemoryPlanner memory_;
  mutable std::mutex profile_mu_;
  mutable std::vector<ProfileEvent> events_;
};

}  // namespace sparsert
