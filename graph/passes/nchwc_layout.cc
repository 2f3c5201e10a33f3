#include "graph/passes/nchwc_layout.h"

#include <limits>
#include <map>
#include <set>

#include "graph/passes/match_util.h"
#include "jit/isa.h"
#include "ops/linear.h"
#include "ops/nchwc.h"

namespace sparsert::passes {

int64_t nchwc_block_for(uint32_t isa_cap) {
  if (jit::is_subset(jit::kIsaAvx512, isa_cap)) return 16;
  if (jit::is_subset(jit::kIsaAvx2, isa_cap)) return 8;
  return 0;
}

namespace {

bool is_onnx(const Node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

// A float [N, C, H, W] activation with a known channel count.
bool is_nchw_float(const Value& v) {
  return !v.constant && v.type.dtype == DType::kFloat32 && v.type.has_shape && v.type.dims.size() == 4 &&
         v.type.dims[1].is_static();
}

int64_t channels(const Value& v) { return v.type.dims[1].value; }

// A 2-D float Conv with constant weights (and bias) on a known-channel input.
bool is_conv(const Graph& g, const Node& n) {
  if (!is_onnx(n, "Conv") || n.inputs.size() < 2 || n.outputs.size() != 1) return false;
  if (!is_nchw_float(g.value(n.inputs[0])) || !is_nchw_float(g.value(n.outputs[0]))) return false;
  const Value& w = g.value(n.inputs[1]);
  if (!w.constant || w.constant->dtype() != DType::kFloat32 || w.constant->rank() != 4) return false;
  auto group = n.attrs.get_int("group", 1);
  if (!group.ok() || *group <= 0 || w.constant->dim(1) * *group != channels(g.value(n.inputs[0]))) return false;
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Value& b = g.value(n.inputs[2]);
    if (!b.constant || b.constant->dtype() != DType::kFloat32 || b.constant->num_elements() != w.constant->dim(0))
      return false;
  }
  return true;
}

// Clip's bounds when both are absent or constant float scalars.
bool clip_bounds(const Graph& g, const Node& n, float* lo, float* hi) {
  *lo = -std::numeric_limits<float>::infinity();
  *hi = std::numeric_limits<float>::infinity();
  for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
    if (n.inputs[i] == kNoValue) continue;
    const Value& v = g.value(n.inputs[i]);
    if (!v.constant || v.constant->dtype() != DType::kFloat32 || v.constant->num_elements() != 1) return false;
    (i == 1 ? *lo : *hi) = v.constant->data<float>()[0];
  }
  return true;
}

// Unary ops that may run on blocked data: all of them map 0 to 0 (so padding
// lanes stay zero) except those in `needs_full_blocks`.
bool is_region_unary(const Graph& g, const Node& n, int64_t block) {
  if (!n.domain.empty() || n.outputs.size() != 1) return false;
  static const std::set<std::string> zero_keeping = {"Relu", "LeakyRelu", "HardSwish", "Tanh", "Elu"};
  static const std::set<std::string> needs_full_blocks = {"Sigmoid", "HardSigmoid"};
  const bool full_blocks = channels(g.value(n.inputs[0])) % block == 0;
  if (n.op_type == "Clip") {
    float lo, hi;
    return clip_bounds(g, n, &lo, &hi) && (full_blocks || (lo <= 0.f && hi >= 0.f));
  }
  if (n.inputs.size() != 1) return false;
  return zero_keeping.count(n.op_type) || (full_blocks && needs_full_blocks.count(n.op_type));
}

// A 2-D MaxPool without the Indices output (it runs as NchwcMaxPool).
bool is_region_max_pool(const Node& n) {
  if (!is_onnx(n, "MaxPool") || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
  auto kernel = n.attrs.get_ints("kernel_shape");
  auto storage_order = n.attrs.get_int("storage_order", 0);
  return kernel.ok() && kernel->size() == 2 && storage_order.ok() && *storage_order == 0;
}

bool is_region_binary(const Graph& g, const Node& n) {
  if (!(is_onnx(n, "Add") || is_onnx(n, "Sub") || is_onnx(n, "Mul")) || n.inputs.size() != 2) return false;
  const ValueType &a = g.value(n.inputs[0]).type, &b = g.value(n.inputs[1]).type, &y = g.value(n.outputs[0]).type;
  return same_known_dims(a, b) && same_known_dims(a, y);
}

// A Conv and what it absorbs: Add(y, sum) then ReLU / Clip.
struct ConvGroup {
  NodeId conv = -1;
  ValueId sum = kNoValue, out = kNoValue;
  std::vector<NodeId> fused;  // absorbed nodes after the conv
  NchwcConvParams params;
};

class Rewriter {
 public:
  Rewriter(Graph& g, int64_t block) : g_(g), block_(block) {}

  StatusOr<int> run() {
    SPARSERT_ASSIGN_OR_RETURN(std::vector<NodeId> order, g_.topological_order());
    find_region(order);
    std::vector<ConvGroup> groups = find_groups(order);
    if (groups.empty()) return 0;
    std::vector<bool> remove(g_.num_nodes(), false);
    std::vector<bool> in_group(g_.num_nodes(), false);
    for (const ConvGroup& cg : groups) {
      remove[cg.conv] = true;
      for (NodeId f : cg.fused) remove[f] = in_group[f] = true;
    }
    const size_t original_nodes = g_.num_nodes();
    for (NodeId id : order) {
      if (!region_node_[id] || in_group[id]) continue;
      remove[id] = true;
      if (is_onnx(g_.node(id), "MaxPool")) write_max_pool(id);
      else if (!is_onnx(g_.node(id), "Conv")) write_elementwise(id);
    }
    for (const ConvGroup& cg : groups) write_conv(cg);
    // Blocked values that plain readers (or the graph's outputs) still need.
    for (const auto& [v, blocked] : twin_) {
      bool needed = g_.value(v).is_graph_output;
      for (NodeId c : g_.value(v).consumers) needed = needed || (c < static_cast<NodeId>(original_nodes) && !remove[c]);
      if (needed && g_.value(v).producer >= 0 && remove[g_.value(v).producer]) write_from_blocked(v, blocked);
    }
    remove.resize(g_.num_nodes(), false);
    g_.remove_nodes(remove);
    return static_cast<int>(groups.size());
  }

 private:
  // Which nodes run blocked: convs, and element-wise ops and 2-D max pools
  // all of whose data inputs are blocked.
  void find_region(const std::vector<NodeId>& order) {
    blocked_.assign(g_.num_values(), false);
    region_node_.assign(g_.num_nodes(), false);
    for (NodeId id : order) {
      const Node& n = g_.node(id);
      bool in = false;
      if (is_conv(g_, n)) in = true;
      else if (!n.inputs.empty() && n.inputs[0] != kNoValue && blocked_[n.inputs[0]] && is_nchw_float(g_.value(n.outputs[0])))
        in = is_region_unary(g_, n, block_) || (is_region_binary(g_, n) && blocked_[n.inputs[1]]) ||
             is_region_max_pool(n);
      if (!in) continue;
      region_node_[id] = true;
      blocked_[n.outputs[0]] = true;
    }
  }

  std::vector<ConvGroup> find_groups(const std::vector<NodeId>& order) {
    std::vector<ConvGroup> groups;
    std::vector<bool> claimed(g_.num_nodes(), false);  // absorbed by a group already
    for (NodeId id : order) {
      const Node& n = g_.node(id);
      if (!region_node_[id] || !is_onnx(n, "Conv")) continue;
      ConvGroup cg;
      cg.conv = id;
      cg.out = n.outputs[0];
      cg.params.block = block_;
      const int64_t M = channels(g_.value(cg.out));
      NodeId c = sole_consumer(g_, cg.out);
      // Add(conv_a, conv_b): the first conv in order takes it.
      if (c >= 0 && region_node_[c] && !claimed[c] && is_onnx(g_.node(c), "Add")) {
        const Node& add = g_.node(c);
        const ValueId other = add.inputs[0] == cg.out ? add.inputs[1] : add.inputs[0];
        if (other != cg.out) {
          cg.sum = other;
          cg.fused.push_back(c);
          claimed[c] = true;
          cg.out = add.outputs[0];
        }
      }
      c = sole_consumer(g_, cg.out);
      float lo, hi;
      if (c >= 0 && region_node_[c] && is_onnx(g_.node(c), "Relu")) {
        cg.params.act = ConvActivation::kRelu;
      } else if (c >= 0 && region_node_[c] && is_onnx(g_.node(c), "Clip") && clip_bounds(g_, g_.node(c), &lo, &hi) &&
                 // a post-op also runs on the padding lanes: they must stay 0
                 (M % block_ == 0 || (lo <= 0.f && hi >= 0.f))) {
        cg.params.act = ConvActivation::kClip;
        cg.params.act_min = lo;
        cg.params.act_max = hi;
      } else {
        c = -1;
      }
      if (c >= 0) {
        cg.fused.push_back(c);
        claimed[c] = true;
        cg.out = g_.node(c).outputs[0];
      }
      groups.push_back(cg);
    }
    return groups;
  }


  Node internal_node(const std::string& name, const char* op) const {
    Node n;
    n.name = name;
    n.op_type = op;
    n.domain = kSparsertDomain;
    n.opset = 1;
    return n;
  }

  // A new value typed as the blocked form of plain value v.
  ValueId add_blocked_value(ValueId v) {
    const Value& val = g_.value(v);
    const std::vector<Dim>& d = val.type.dims;
    ValueType t{DType::kFloat32, true, {d[0], Dim::of(nchwc_blocks(d[1].value, block_)), d[2], d[3], Dim::of(block_)}};
    const std::string name = g_.unused_name(val.name + "/nchwc");
    return g_.add_value(name, std::move(t));
  }

  // The blocked twin of a value the region produces.
  ValueId twin(ValueId v) {
    auto it = twin_.find(v);
    if (it != twin_.end()) return it->second;
    const ValueId b = add_blocked_value(v);
    twin_[v] = b;
    return b;
  }

  // A region input: its twin when the region makes it, else a reorder of the plain tensor.
  ValueId blocked_input(ValueId v) {
    if (blocked_[v]) return twin(v);
    auto it = reordered_.find(v);
    if (it != reordered_.end()) return it->second;
    const std::string name = g_.value(v).name;
    const ValueId b = add_blocked_value(v);
    Node n = internal_node(name + "/to_nchwc", "ReorderToNchwc");
    n.inputs = {v};
    n.outputs = {b};
    n.attrs.set("block", block_);
    g_.add_node(std::move(n));
    reordered_[v] = b;
    return b;
  }

  void write_conv(const ConvGroup& cg) {
    const Node conv = g_.node(cg.conv);
    Node n = internal_node(conv.name, "NchwcConv");
    n.attrs = conv.attrs;
    n.attrs.set("block", block_);
    const char* act = cg.params.act == ConvActivation::kRelu ? "relu" : cg.params.act == ConvActivation::kClip ? "clip" : "none";
    n.attrs.set("activation", std::string(act));
    if (cg.params.act == ConvActivation::kClip) {
      n.attrs.set("activation_min", cg.params.act_min);
      n.attrs.set("activation_max", cg.params.act_max);
    }
    const ValueId x = conv.inputs[0];
    auto group = conv.attrs.get_int("group", 1);
    // oneDNN's first-layer kernels read few-channel NCHW directly.
    const bool plain = !blocked_[x] && channels(g_.value(x)) < block_ && group.ok() && *group == 1;
    n.inputs = {plain ? x : blocked_input(x), conv.inputs[1], conv.inputs.size() > 2 ? conv.inputs[2] : kNoValue,
                cg.sum == kNoValue ? kNoValue : twin(cg.sum)};
    while (n.inputs.back() == kNoValue) n.inputs.pop_back();
    n.outputs = {twin(cg.out)};
    g_.add_node(std::move(n));
  }

  void write_elementwise(NodeId id) {
    Node n = g_.node(id);
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (n.inputs[i] != kNoValue && blocked_[n.inputs[i]]) n.inputs[i] = twin(n.inputs[i]);
    n.outputs = {twin(n.outputs[0])};
    g_.add_node(std::move(n));
  }

  void write_max_pool(NodeId id) {
    const Node pool = g_.node(id);
    Node n = internal_node(pool.name, "NchwcMaxPool");
    n.attrs = pool.attrs;
    n.attrs.set("block", block_);
    n.inputs = {twin(pool.inputs[0])};
    n.outputs = {twin(pool.outputs[0])};
    g_.add_node(std::move(n));
  }

  void write_from_blocked(ValueId v, ValueId blocked) {
    Node n = internal_node(g_.value(v).name + "/from_nchwc", "ReorderFromNchwc");
    n.inputs = {blocked};
    n.outputs = {v};
    n.attrs.set("block", block_);
    n.attrs.set("channels", channels(g_.value(v)));
    g_.add_node(std::move(n));
  }

  Graph& g_;
  const int64_t block_;
  std::vector<bool> blocked_;      // per value: the region produces it
  std::vector<bool> region_node_;  // per node
  std::map<ValueId, ValueId> twin_;       // region value -> its blocked value
  std::map<ValueId, ValueId> reordered_;  // plain value -> ReorderToNchwc output
};

}  // namespace

StatusOr<int> run_nchwc_layout(Graph& g, PassContext& ctx) {
  const int64_t block = ctx.nchwc_block > 0 ? ctx.nchwc_block : nchwc_block_for(ctx.isa_cap);
  if (block == 0) return 0;
  return Rewriter(g, block).run();
}

}  // namespace sparsert::passes
