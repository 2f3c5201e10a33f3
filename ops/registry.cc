#include "ops/registry.h"

#include <cstring>

#include "ops/register_all.h"

namespace sparsert {

StatusOr<Tensor*> KernelContext::allocate_output(int i, DType dtype, const Shape& shape, OutputInit init) {
  if (i >= num_outputs()) return Internal(node_.describe(), ": output ", i, " does not exist");
  if (allocator_) {
    auto n = checked_num_elements(shape);
    if (!n.ok()) return n.status().with_context(node_.describe() + " output " + std::to_string(i));
    const size_t bytes = dtype_storage_bytes(dtype, static_cast<size_t>(*n));
    if (void* p = bytes ? allocator_->allocate(i, bytes) : nullptr) {
      if (init == OutputInit::kZeroed) std::memset(p, 0, bytes);
      (*outputs_)[i] = Tensor::view(dtype, shape, p);
      return &(*outputs_)[i];
    }
  }
  auto t = Tensor::allocate(dtype, shape);
  if (!t.ok()) return t.status().with_context(node_.describe() + " output " + std::to_string(i));
  (*outputs_)[i] = std::move(t).value();
  return &(*outputs_)[i];
}

Status KernelContext::set_output(int i, Tensor tensor) {
  if (i >= num_outputs()) return Internal(node_.describe(), ": output ", i, " does not exist");
  (*outputs_)[i] = std::move(tensor);
  return Status::OK();
}

const OpRegistry& OpRegistry::global() {
  static const OpRegistry* registry = [] {
    auto* r = new OpRegistry();
    register_all_ops(*r);
    return r;
  }();
  return *registry;
}

void OpRegistry::add(OpSchema schema) {
  auto key = std::make_pair(schema.domain, schema.op_type);
  ops_[key] = std::move(schema);
}

void OpRegistry::add_impl(const std::string& domain, const std::string& op_type, KernelImpl impl) {
  auto it = ops_.find({domain, op_type});
  if (it != ops_.end()) it->second.impls.push_back(std::move(impl));
}

void OpRegistry::set_in_place(const std::string& domain, const std::string& op_type) {
  auto it = ops_.find({domain, op_type});
  if (it != ops_.end()) it->second.in_place = true;
}

void OpRegistry::set_shape_rule(const std::string& domain, const std::string& op_type, ShapeRule rule) {
  auto it = ops_.find({domain, op_type});
  if (it != ops_.end()) it->second.infer = std::move(rule);
}

const OpSchema* OpRegistry::find(const std::string& domain, const std::string& op_type) const {
  auto it = ops_.find({domain == "ai.onnx" ? "" : domain, op_type});
  return it == ops_.end() ? nullptr : &it->second;
}

std::vector<const OpSchema*> OpRegistry::all() const {
  std::vector<const OpSchema*> out;
  for (const auto& [k, v] : ops_) out.push_back(&v);
  return out;
}

KernelFn reference_kernel(const Node& node) {
  return OpRegistry::global().find(node.domain, node.op_type)->reference;
}

Status check_arity(const OpSchema& s, const Node& n) {
  int nin = static_cast<int>(n.inputs.size());
  int nout = static_cast<int>(n.outputs.size());
  if (nin < s.min_inputs || nin > s.max_inputs)
    return InvalidArgument(n.describe(), ": expected ", s.min_inputs == s.max_inputs ? "" : "between ",
                           s.min_inputs, s.min_inputs == s.max_inputs ? "" : " and ",
                           s.min_inputs == s.max_inputs ? "" : std::to_string(s.max_inputs), " inputs, got ", nin);
  if (nout < s.min_outputs || nout > s.max_outputs)
    return InvalidArgument(n.describe(), ": expected ", s.min_outputs, "..", s.max_outputs, " outputs, got ", nout);
  for (int i = 0; i < s.min_inputs && i < nin; ++i)
    if (n.inputs[i] == kNoValue) return InvalidArgument(n.describe(), ": required input ", i, " is missing");
  return Status::OK();
}

}  // namespace sparsert
