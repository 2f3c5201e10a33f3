#include "graph/passes/fuse_layer_norm.h"

#include <vector>

#include "graph/passes/match_util.h"

namespace sparsert::passes {
namespace {

const Tensor* float_constant(const Graph& g, ValueId v) {
  if (v == kNoValue || !g.value(v).constant || g.value(v).constant->dtype() != DType::kFloat32) return nullptr;
  return &*g.value(v).constant;
}

bool scalar_is(const Graph& g, ValueId v, float want) {
  const Tensor* t = float_constant(g, v);
  return t && t->num_elements() == 1 && t->data<float>()[0] == want;
}

// ReduceMean over the last axis of a rank-`rank` input, keeping it.
bool mean_over_last_axis(const Graph& g, NodeId n, size_t rank) {
  if (!is_op(g, n, "ReduceMean")) return false;
  const Node& node = g.node(n);
  auto keep = node.attrs.get_int("keepdims", 1);
  if (!keep.ok() || *keep != 1 || node.inputs.size() < 2 || node.inputs[1] == kNoValue) return false;
  const Value& axes = g.value(node.inputs[1]);
  if (!axes.constant || axes.constant->num_elements() != 1) return false;
  int64_t axis = 0;
  if (axes.constant->dtype() == DType::kInt64) axis = axes.constant->data<int64_t>()[0];
  else if (axes.constant->dtype() == DType::kInt32) axis = axes.constant->data<int32_t>()[0];
  else return false;
  return axis == -1 || axis == static_cast<int64_t>(rank) - 1;
}

// A constant of C floats that broadcasts along the last axis only.
bool per_channel(const Graph& g, ValueId v, int64_t c) {
  const Tensor* t = float_constant(g, v);
  return t && t->num_elements() == c && t->rank() >= 1 && t->shape().back() == c;
}

struct Match {
  ValueId x = kNoValue, gamma = kNoValue, beta = kNoValue, out = kNoValue;
  float eps = 0.f;
  int64_t channels = 0;
  std::vector<NodeId> fused;
};

bool match(const Graph& g, NodeId mean1, Match& m) {
  if (!is_op(g, mean1, "ReduceMean")) return false;
  m.x = g.node(mean1).inputs[0];
  const ValueType& xt = g.value(m.x).type;
  if (xt.dtype != DType::kFloat32 || !xt.has_shape || xt.dims.empty() || !xt.dims.back().is_static()) return false;
  m.channels = xt.dims.back().value;
  if (m.channels < 1 || !mean_over_last_axis(g, mean1, xt.dims.size())) return false;
  const ValueId mean = g.node(mean1).outputs[0];
  const NodeId sub = sole_consumer(g, mean);
  if (!is_op(g, sub, "Sub") || g.node(sub).inputs[0] != m.x || g.node(sub).inputs[1] != mean) return false;
  // d = x - mean, read by Pow(d, 2) and by the Div.
  const ValueId d = g.node(sub).outputs[0];
  const Value& dv = g.value(d);
  if (dv.is_graph_output || dv.consumers.size() != 2) return false;
  NodeId pow = -1, div = -1;
  for (NodeId c : dv.consumers) {
    if (is_op(g, c, "Pow") && g.node(c).inputs[0] == d && scalar_is(g, g.node(c).inputs[1], 2.f)) pow = c;
    else if (is_op(g, c, "Div") && g.node(c).inputs[0] == d) div = c;
  }
  if (pow < 0 || div < 0) return false;
  const NodeId mean2 = sole_consumer(g, g.node(pow).outputs[0]);
  if (!mean_over_last_axis(g, mean2, xt.dims.size())) return false;
  const ValueId var = g.node(mean2).outputs[0];
  const NodeId add_eps = sole_consumer(g, var);
  if (!is_op(g, add_eps, "Add")) return false;
  const Tensor* eps = float_constant(g, other_input(g, add_eps, var));
  if (!eps || eps->num_elements() != 1) return false;
  m.eps = eps->data<float>()[0];
  const NodeId sqrt = sole_consumer(g, g.node(add_eps).outputs[0]);
  if (!is_op(g, sqrt, "Sqrt") || sole_consumer(g, g.node(sqrt).outputs[0]) != div ||
      g.node(div).inputs[1] != g.node(sqrt).outputs[0])
    return false;
  m.fused = {mean1, sub, pow, mean2, add_eps, sqrt, div};
  m.out = g.node(div).outputs[0];
  // Optional affine part: * gamma, then + beta (constants per channel, either side).
  NodeId next = sole_consumer(g, m.out);
  if (is_op(g, next, "Mul") && per_channel(g, other_input(g, next, m.out), m.channels)) {
    m.gamma = other_input(g, next, m.out);
    m.fused.push_back(next);
    m.out = g.node(next).outputs[0];
    next = sole_consumer(g, m.out);
  }
  if (is_op(g, next, "Add") && per_channel(g, other_input(g, next, m.out), m.channels)) {
    m.beta = other_input(g, next, m.out);
    m.fused.push_back(next);
    m.out = g.node(next).outputs[0];
  }
  return true;
}

// A [C] float constant holding t's values (gamma/beta may be [1, C] and so on).
ValueId flat_constant(Graph& g, const std::string& base, const Tensor& t, int64_t c) {
  Tensor flat = Tensor::from_vector<float>({c}, std::vector<float>(t.data<float>(), t.data<float>() + c));
  return g.add_constant(g.unused_name(base), std::move(flat));
}

}  // namespace

StatusOr<int> run_fuse_layer_norm(Graph& g, PassContext&) {
  std::vector<Match> matches = disjoint_matches<Match>(g, [&](NodeId id, Match& m) { return match(g, id, m); });
  if (matches.empty()) return 0;
  std::vector<bool> remove(g.num_nodes(), false);
  for (const Match& m : matches) {
    const std::string base = g.node(m.fused[0]).name;
    Node ln;
    ln.name = base + "_layer_norm";
    ln.op_type = "LayerNormalization";
    ln.opset = 17;
    const ValueId gamma = m.gamma != kNoValue
                              ? flat_constant(g, base + "_scale", *g.value(m.gamma).constant, m.channels)
                              : g.add_constant(g.unused_name(base + "_scale"),
                                               Tensor::from_vector<float>({m.channels}, std::vector<float>(
                                                                                            static_cast<size_t>(m.channels), 1.f)));
    ln.inputs = {m.x, gamma};
    if (m.beta != kNoValue) ln.inputs.push_back(flat_constant(g, base + "_bias", *g.value(m.beta).constant, m.channels));
    ln.outputs = {m.out};
    ln.attrs.set("axis", int64_t{-1});
    ln.attrs.set("epsilon", m.eps);
    for (NodeId f : m.fused) remove[f] = true;
    g.add_node(std::move(ln));
  }
  remove.resize(g.num_nodes(), false);
  g.remove_nodes(remove);
  return static_cast<int>(matches.size());
}

}  // namespace sparsert::passes
