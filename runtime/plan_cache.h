// Process-wide cache of compiled plans, so that a second session of a model
// that is already loaded takes milliseconds: the plan (optimized graph,
// kernels, packed sparse weights, JIT code) is immutable after compile and
// its kernels are safe to run concurrently, as one session's concurrent Run
// calls already do; each session keeps its own executor (run memory,
// profiling). What ONNX Runtime offers as a pre-packed weights container
// shared between sessions, for everything compile produces.
//
// Entries are weak: a plan lives while a session uses it, and a model
// loaded again after its last session is gone is compiled again (no memory
// held for models nobody runs). Keys: a 128-bit hash of the model's bytes
// (file or buffer; ~10 GB/s, 45 ms for a 440 MB BERT-base) plus every option
// that changes what compile makes. External data files are checked by their
// identity (device, inode, size, modification time) on every hit.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "runtime/plan.h"
#include "runtime/session_options.h"

namespace sparsert {

// The part of the key the options contribute (threads, ISA, passes, kernels,
// sparse policy, quantization; not profiling or run-memory settings).
std::string compile_options_key(const SessionOptions& o);
// "file:<dev>:<ino>:<size>:<mtime ns>" of a regular file, or an error naming it
// (for external data files).
StatusOr<std::string> file_identity(const std::string& path);
// "bytes:<size>:<hash>" of a buffer, and of a file's contents (a model file
// is keyed by what it holds: a rewrite within one timestamp tick, or onto a
// reused inode, still misses).
std::string bytes_identity(const void* data, size_t size);
StatusOr<std::string> file_content_identity(const std::string& path);

class PlanCache {
 public:
  static PlanCache& global();
  // The live plan stored under key whose dependency files are unchanged, or null.
  std::shared_ptr<const Plan> find(const std::string& key);
  // dependencies: files whose identity must still match on a hit (external data).
  void insert(const std::string& key, const std::shared_ptr<const Plan>& plan,
              std::vector<std::string> dependencies);

 private:
  PlanCache();
  ~PlanCache();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparsert
