#include <limits>
#include <random>

#include "runtime/plan.h"
#include "runtime/session.h"

namespace sparsert {
namespace {

// The exclusive upper bound for an integer input used as Gather indices into a
// constant table (token ids into an embedding); 0 when none applies.
int64_t index_bound(const Graph& g, ValueId input) {
  int64_t bound = 0;
  std::vector<ValueId> frontier = {input};
  // Follow Cast/Reshape/Unsqueeze/Squeeze/Flatten hops: exporters insert them before Gather.
  for (int hop = 0; hop < 4 && !frontier.empty(); ++hop) {
    std::vector<ValueId> next;
    for (ValueId v : frontier)
      for (NodeId c : g.value(v).consumers) {
        const Node& n = g.node(c);
        if (n.op_type == "Gather" && n.inputs.size() == 2 && n.inputs[1] == v) {
          const Value& data = g.value(n.inputs[0]);
          if (!data.constant || data.constant->rank() == 0) continue;
          int64_t axis = n.attrs.get_int("axis", 0).ok() ? *n.attrs.get_int("axis", 0) : 0;
          if (axis < 0) axis += data.constant->rank();
          if (axis < 0 || axis >= data.constant->rank()) continue;
          int64_t d = data.constant->dim(static_cast<int>(axis));
          bound = bound == 0 ? d : std::min(bound, d);
        } else if (n.op_type == "Cast" || n.op_type == "Reshape" || n.op_type == "Unsqueeze" ||
                   n.op_type == "Squeeze" || n.op_type == "Flatten") {
          if (!n.inputs.empty() && n.inputs[0] == v && !n.outputs.empty()) next.push_back(n.outputs[0]);
        }
      }
    frontier = std::move(next);
  }
  return bound;
}

}  // namespace

StatusOr<std::vector<NamedTensor>> Session::RandomInputs(const std::map<std::string, int64_t>& dims,
                                                         uint64_t seed) const {
  std::mt19937_64 rng(seed);
  std::vector<NamedTensor> out;
  const Graph& g = plan_->graph;
  for (size_t i = 0; i < plan_->inputs.size(); ++i) {
    const TensorInfo& info = plan_->inputs[i];
    if (!info.has_shape) return InvalidArgument("input '", info.name, "' has unknown rank; give it explicitly");
    Shape shape;
    for (size_t d = 0; d < info.shape.size(); ++d) {
      if (info.shape[d] >= 0) { shape.push_back(info.shape[d]); continue; }
      auto it = dims.find(info.symbols[d]);
      shape.push_back(it != dims.end() ? it->second : 1);
    }
    SPARSERT_ASSIGN_OR_RETURN(Tensor t, Tensor::allocate(info.dtype, shape));
    const int64_t n = t.num_elements();
    const bool is_mask = info.name.find("mask") != std::string::npos;
    switch (info.dtype) {
      case DType::kFloat32: {
        std::normal_distribution<float> dist(0.f, 1.f);
        for (int64_t k = 0; k < n; ++k) t.data<float>()[k] = is_mask ? 1.f : dist(rng);
        break;
      }
      case DType::kInt64:
      case DType::kInt32: {
        int64_t hi = is_mask ? 1 : index_bound(g, g.inputs()[i]) - 1;
        int64_t lo = is_mask ? 1 : 0;
        if (hi < lo) hi = 1;
        std::uniform_int_distribution<int64_t> dist(lo, hi);
        for (int64_t k = 0; k < n; ++k) {
          int64_t v = dist(rng);
          if (info.dtype == DType::kInt64) t.data<int64_t>()[k] = v;
          else t.data<int32_t>()[k] = static_cast<int32_t>(v);
        }
        break;
      }
      case DType::kUInt8: {
        std::uniform_int_distribution<int> dist(0, 255);
        for (int64_t k = 0; k < n; ++k) t.data<uint8_t>()[k] = static_cast<uint8_t>(dist(rng));
        break;
      }
      case DType::kInt8: {
        std::uniform_int_distribution<int> dist(-128, 127);
        for (int64_t k = 0; k < n; ++k) t.data<int8_t>()[k] = static_cast<int8_t>(dist(rng));
        break;
      }
      case DType::kBool:
        for (int64_t k = 0; k < n; ++k) t.data<bool>()[k] = is_mask ? true : (rng() & 1);
        break;
      default:
        return Unimplemented("random input of type ", dtype_name(info.dtype), " for '", info.name, "'");
    }
    out.push_back({info.name, std::move(t)});
  }
  return out;
}

}  // namespace sparsert
