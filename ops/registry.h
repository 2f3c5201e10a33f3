// The op registry: op type (+ domain) -> schema and reference kernel.
// Reference kernels are plain, obviously-correct C++: the oracle for every fast
// kernel. Output shapes are computed by the kernel from its actual inputs (as
// ONNX Runtime does), so data-dependent shapes (Reshape, Range, TopK) just work.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "ops/shape_rules.h"
#include "ops/sparse/sparse_cost_model.h"

namespace sparsert {

// Where node outputs live. The executor's memory plan hands out slices of one
// per-run arena; without an allocator (or when it declines) outputs get fresh
// heap storage.
class OutputAllocator {
 public:
  virtual ~OutputAllocator() = default;
  // Storage of `bytes` bytes for output i of the current node, or nullptr.
  virtual void* allocate(int output, size_t bytes) = 0;
};

// Whether a kernel needs its output zeroed (accumulating kernels) or writes
// every element itself (then the arena skips the memset).
enum class OutputInit { kZeroed, kOverwritten };

class KernelContext {
 public:
  KernelContext(const Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor>* outputs,
                OutputAllocator* allocator = nullptr)
      : node_(node), inputs_(std::move(inputs)), outputs_(outputs), allocator_(allocator) {}

  const Node& node() const { return node_; }
  const AttributeMap& attrs() const { return node_.attrs; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_->size()); }
  // nullptr when input i is omitted (optional) or beyond the node's inputs.
  const Tensor* input(int i) const { return i < num_inputs() ? inputs_[i] : nullptr; }
  // Allocates output i; the returned pointer stays valid for this call.
  StatusOr<Tensor*> allocate_output(int i, DType dtype, const Shape& shape, OutputInit init = OutputInit::kZeroed);
  // Sets output i to an existing tensor (zero-copy ops such as Reshape).
  Status set_output(int i, Tensor tensor);
  bool output_wanted(int i) const { return i < num_outputs(); }

 private:
  const Node& node_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor>* outputs_;
  OutputAllocator* allocator_;
};

using KernelFn = std::function<Status(KernelContext&)>;

// What an implementation that accepted a node says about its choice, for
// `sparse_run inspect` (no choice is silent).
struct ImplReport {
  std::string variant;             // the generated or library kernel, e.g. "f32_bspmm_{1,8,16}x4_avx2"
  std::vector<std::string> notes;  // why this variant, and what it declined
  int64_t packed_weight_bytes = 0; // weights held in the kernel's own packed form
};

// What an implementation may consult when deciding whether it can run a node.
struct ImplContext {
  uint32_t isa_cap = 0;  // jit::Isa bits the session may use
  int threads = 1;
  SparsePolicy sparse;  // when constant weights run on the sparse kernels
  ImplReport* report = nullptr;  // where an accepting implementation may describe its choice
};

// A fast implementation of an op. try_create inspects the node (its constant
// inputs and static types in `graph`) and returns a kernel, or a Status saying
// why it declines ("B is not a constant", "isa: needs avx512_vnni"), so the
// choice is never silent. A kernel must handle every input the node can get at
// run time (falling back to the reference kernel for cases it does not cover).
struct KernelImpl {
  std::string name;  // e.g. "onednn_matmul_f32"
  std::function<StatusOr<KernelFn>(const Node&, const Graph&, const ImplContext&)> try_create;
};

struct OpSchema {
  std::string domain;  // "" = ai.onnx, "com.microsoft", ...
  std::string op_type;
  int min_inputs = 1;
  int max_inputs = 1;
  int min_outputs = 1;
  int max_outputs = 1;
  KernelFn reference;
  // Tried in order before the reference kernel (which always comes last).
  std::vector<KernelImpl> impls = {};
  // Output types from input types (ops/shape_rules.cc); every op has one.
  ShapeRule infer = {};
  // Output 0 may take over the buffer of a same-sized input that dies at this
  // node (the memory plan's in-place reuse): every kernel of the op reads
  // element i of its inputs before it writes element i of the output.
  bool in_place = false;
};

class OpRegistry {
 public:
  // The process-wide registry with every op of ops/ registered.
  static const OpRegistry& global();

  void add(OpSchema schema);
  // Appends a fast implementation to an already registered op.
  void add_impl(const std::string& domain, const std::string& op_type, KernelImpl impl);
  void set_in_place(const std::string& domain, const std::string& op_type);
  // Sets the shape rule of an already registered op.
  void set_shape_rule(const std::string& domain, const std::string& op_type, ShapeRule rule);
  const OpSchema* find(const std::string& domain, const std::string& op_type) const;
  std::vector<const OpSchema*> all() const;

 private:
  std::map<std::pair<std::string, std::string>, OpSchema> ops_;
};

// The reference kernel of a node's op (implementations fall back to it for
// inputs they do not cover). The op must be registered.
KernelFn reference_kernel(const Node& node);

// Checks a node's input/output counts against its schema.
Status check_arity(const OpSchema& schema, const Node& node);

}  // namespace sparsert
