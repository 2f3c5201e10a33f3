// Session: the public C++ API. Load a model once, then Run it many times, from
// several threads at once if you like.
//
//   auto session = sparsert::Session::Create("model.onnx", {}).value();
//   auto outputs = session->Run({{"input_ids", ids}, {"attention_mask", mask}}).value();
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/tensor.h"
#include "runtime/session_options.h"

namespace sparsert {

struct TensorInfo {
  std::string name;
  DType dtype = DType::kUndefined;
  Shape shape;                       // -1 where the dim is symbolic or unknown
  std::vector<std::string> symbols;  // dim names where symbolic ("" otherwise)
  bool has_shape = false;            // false: rank unknown
  std::string type_string() const;   // "int64[batch,128]"
};

// One node of the plan as `sparse_run inspect` shows it.
struct NodeReport {
  std::string name;
  std::string op;                          // "Linear" or "com.sparsert.Linear" style: domain.op_type
  std::vector<std::string> input_types;    // "float[batch,128,768]", "const int8[768,768]", "" for absent
  std::vector<std::string> output_types;
  std::string kernel;                      // the chosen implementation
  std::vector<std::string> declined;       // "impl: why" for each one tried before it
  std::string kernel_variant;              // the generated/library kernel inside it, "" if none named
  std::vector<std::string> kernel_notes;   // why that variant (cost model, packing, declined variants)
  int64_t packed_weight_bytes = 0;         // weights the kernel holds in its own packed form
  double time_share = -1;                  // its median time over the profiled runs / the nodes' sum of those (-1: not profiling)
  // The node's largest constant float or 8-bit input of rank >= 2 (its weight), if any.
  std::string weight;                      // "int8[768,3072]", "" when none
  double weight_zeros = 0;                 // fraction of zero values
  double weight_zero_blocks_4x1 = 0;       // fraction of all-zero blocks of 4 consecutive last-axis values
  int64_t weight_bytes = 0;
};

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

// Every op type with a kernel, as "Add" or "com.microsoft.Gelu", sorted.
std::vector<std::string> supported_ops();

class Executor;
struct Plan;

class Session {
 public:
  static StatusOr<std::unique_ptr<Session>> Create(const std::string& model_path, const SessionOptions& options = {});
  static StatusOr<std::unique_ptr<Session>> CreateFromBytes(const void* data, size_t size,
                                                            const SessionOptions& options = {},
                                                            const std::string& model_dir = "");
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  // Runs the model. `output_names` empty = all outputs, in model order.
  // Inputs are validated (names, dtypes, shapes); inputs are not copied.
  StatusOr<std::vector<NamedTensor>> Run(const std::vector<NamedTensor>& inputs,
                                         const std::vector<std::string>& output_names = {}) const;
  // Every value the plan computes (intermediates in execution order, then the
  // outputs), for per-node accuracy checks; slower and uses more memory.
  StatusOr<std::vector<NamedTensor>> RunKeepingIntermediates(const std::vector<NamedTensor>& inputs) const;

  // Random inputs for benchmarking and smoke tests. Symbolic dims come from
  // `dims` (name -> size), else 1. Integer inputs that index a constant table
  // (Gather) stay inside it; inputs named *mask* are all ones. Deterministic per seed.
  StatusOr<std::vector<NamedTensor>> RandomInputs(const std::map<std::string, int64_t>& dims = {},
                                                  uint64_t seed = 0) const;

  // The optimized graph as text, and what each pass changed.
  std::string graph_dump() const;
  const std::vector<std::string>& pass_log() const;
  // Number of nodes in the plan, and a per-op-type count ("MatMul x72, Add x96, ...").
  size_t num_nodes() const;
  std::string op_summary() const;
  // Kernels chosen, by count ("onednn_linear_f32 x73, reference x83").
  std::string kernel_summary() const;
  // One line per node: "name (Op): kernel [declined impl: reason; ...]".
  std::vector<std::string> kernel_report() const;
  // Every node in execution order with its types, kernel, declines and weight statistics.
  std::vector<NodeReport> inspect() const;
  // Run memory: "arena 4.2 MiB for 310 node outputs (7 in place)", planned by the
  // first run with new input shapes ("" before any run).
  std::string memory_summary() const;
  // The ISA cap in force ("avx2", ...), and the thread count.
  std::string isa() const;
  int threads() const;
  // Writes the profile (if profiling is on), stops profiling and returns the
  // profile's path ("" when off or already ended). A session destroyed with
  // profiling still on writes it then.
  std::string EndProfiling();
  // True when both sessions run one compiled plan (SessionOptions::share_compiled_plan).
  bool SharesCompiledPlanWith(const Session& other) const;

 private:
  Session();
  std::shared_ptr<const Plan> plan_;  // possibly shared with other sessions (runtime/plan_cache.h)
  std::unique_ptr<Executor> executor_;
};

}  // namespace sparsert
