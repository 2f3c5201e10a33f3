#include "graph/passes/fuse_linear_epilogue.h"

#include <cmath>

#include "graph/passes/match_util.h"
#include "ops/linear.h"

namespace sparsert::passes {
namespace {

bool is_float_scalar(const Graph& g, ValueId v, double want, double tol) {
  if (v == kNoValue || !g.value(v).constant) return false;
  const Tensor& t = *g.value(v).constant;
  return t.dtype() == DType::kFloat32 && t.num_elements() == 1 && std::fabs(t.data<float>()[0] - want) <= tol;
}

// A constant float bias of N elements broadcasting along the last axis only.
bool is_bias(const Graph& g, ValueId v, int64_t n) {
  if (v == kNoValue || !g.value(v).constant) return false;
  const Tensor& t = *g.value(v).constant;
  if (t.dtype() != DType::kFloat32 || t.num_elements() != n || t.rank() < 1 || t.shape().back() != n) return false;
  return true;
}

// True when `v` is computed from node `target` (walking producers backwards).
bool depends_on(const Graph& g, ValueId v, NodeId target) {
  std::vector<ValueId> stack = {v};
  std::vector<bool> seen(g.num_values(), false);
  while (!stack.empty()) {
    const ValueId cur = stack.back();
    stack.pop_back();
    if (cur == kNoValue || seen[cur]) continue;
    seen[cur] = true;
    const NodeId p = g.value(cur).producer;
    if (p < 0) continue;
    if (p == target) return true;
    for (ValueId in : g.node(p).inputs) stack.push_back(in);
  }
  return false;
}

struct Match {
  NodeId matmul = -1;         // the MatMul or MatMulInteger
  bool integer = false;       // MatMulInteger head -> IntegerLinear
  ValueId x_scale = kNoValue, w_scale = kNoValue;  // integer head only
  std::vector<NodeId> fused;  // every node the fused node replaces
  ValueId bias = kNoValue, residual = kNoValue, out = kNoValue;
  LinearActivation act = LinearActivation::kNone;
};

// GELU's tanh form as PyTorch exports GPT-2's gelu_new, 0.5 * y * (1 +
// tanh(sqrt(2/pi) * (y + 0.044715 * y^3))): y read by Mul(0.5), Pow(3) and the
// Add; Pow -> Mul(0.044715) -> Add(y, .) -> Mul(0.7978..) -> Tanh -> Add(1) ->
// Mul(half, .). Constant operands on either side.
bool match_gelu_tanh(const Graph& g, ValueId y, Match& m) {
  const Value& v = g.value(y);
  if (v.consumers.size() != 3) return false;
  NodeId half = -1, pow = -1, add = -1;
  for (NodeId c : v.consumers) {
    if (is_op(g, c, "Mul") && is_float_scalar(g, other_input(g, c, y), 0.5, 1e-6)) half = c;
    else if (is_op(g, c, "Pow") && g.node(c).inputs.size() == 2 && g.node(c).inputs[0] == y &&
             is_float_scalar(g, g.node(c).inputs[1], 3.0, 0.0)) pow = c;
    else if (is_op(g, c, "Add")) add = c;
  }
  if (half < 0 || pow < 0 || add < 0) return false;
  const NodeId cube = sole_consumer(g, g.node(pow).outputs[0]);
  if (!is_op(g, cube, "Mul") || !is_float_scalar(g, other_input(g, cube, g.node(pow).outputs[0]), 0.044715, 1e-6))
    return false;
  if (sole_consumer(g, g.node(cube).outputs[0]) != add || other_input(g, add, y) != g.node(cube).outputs[0]) return false;
  const NodeId scale = sole_consumer(g, g.node(add).outputs[0]);
  if (!is_op(g, scale, "Mul") ||
      !is_float_scalar(g, other_input(g, scale, g.node(add).outputs[0]), std::sqrt(2.0 / M_PI), 1e-5))
    return false;
  const NodeId tanh = sole_consumer(g, g.node(scale).outputs[0]);
  if (!is_op(g, tanh, "Tanh")) return false;
  const ValueId t = g.node(tanh).outputs[0];
  const NodeId one = sole_consumer(g, t);
  if (!is_op(g, one, "Add") || !is_float_scalar(g, other_input(g, one, t), 1.0, 1e-6)) return false;
  const ValueId h = g.node(half).outputs[0], e = g.node(one).outputs[0];
  const NodeId prod = sole_consumer(g, e);
  if (prod < 0 || prod != sole_consumer(g, h) || !is_op(g, prod, "Mul") || other_input(g, prod, e) != h) return false;
  m.act = LinearActivation::kGeluTanh;
  m.fused.insert(m.fused.end(), {half, pow, cube, add, scale, tanh, one, prod});
  m.out = g.node(prod).outputs[0];
  return true;
}

// GELU after value y: the Gelu op, or x * 0.5 * (1 + erf(x / sqrt(2))) as
// Div(y, 1.414..) -> Erf -> Add(1) -> Mul(y, .) -> Mul(., 0.5), or the tanh
// form above.
bool match_gelu(const Graph& g, ValueId y, Match& m) {
  const Value& v = g.value(y);
  if (v.is_graph_output) return false;
  if (v.consumers.size() == 1) {
    const Node& n = g.node(v.consumers[0]);
    const bool gelu = n.op_type == "Gelu" && (n.domain.empty() || n.domain == "com.microsoft");
    if (!gelu) return false;
    auto approx = n.attrs.get_string("approximate", "none");
    if (!approx.ok() || (*approx != "none" && *approx != "tanh")) return false;
    m.act = *approx == "tanh" ? LinearActivation::kGeluTanh : LinearActivation::kGeluErf;
    m.fused.push_back(v.consumers[0]);
    m.out = n.outputs[0];
    return true;
  }
  if (v.consumers.size() == 3) return match_gelu_tanh(g, y, m);
  if (v.consumers.size() != 2) return false;
  for (int first = 0; first < 2; ++first) {
    const NodeId scale = v.consumers[first], mul = v.consumers[1 - first];
    const bool div = is_op(g, scale, "Div") && g.node(scale).inputs[0] == y &&
                     is_float_scalar(g, g.node(scale).inputs[1], std::sqrt(2.0), 1e-4);
    const bool mul_inv = is_op(g, scale, "Mul") && is_float_scalar(g, other_input(g, scale, y), 1.0 / std::sqrt(2.0), 1e-4);
    if (!div && !mul_inv) continue;
    const NodeId erf = sole_consumer(g, g.node(scale).outputs[0]);
    if (!is_op(g, erf, "Erf")) continue;
    const ValueId e = g.node(erf).outputs[0];
    const NodeId add = sole_consumer(g, e);
    if (!is_op(g, add, "Add") || !is_float_scalar(g, other_input(g, add, e), 1.0, 1e-6)) continue;
    const ValueId one_plus = g.node(add).outputs[0];
    if (sole_consumer(g, one_plus) != mul || !is_op(g, mul, "Mul") || other_input(g, mul, y) != one_plus) continue;
    const ValueId prod = g.node(mul).outputs[0];
    const NodeId half = sole_consumer(g, prod);
    if (!is_op(g, half, "Mul") || !is_float_scalar(g, other_input(g, half, prod), 0.5, 1e-6)) continue;
    m.act = LinearActivation::kGeluErf;
    m.fused.insert(m.fused.end(), {scale, erf, add, mul, half});
    m.out = g.node(half).outputs[0];
    return true;
  }
  return false;
}

// MatMul(X, W constant 2-D float).
bool match_float_head(const Graph& g, NodeId mm, Match& m, int64_t* n) {
  const Node& node = g.node(mm);
  if (node.op_type != "MatMul" || !node.domain.empty() || node.inputs.size() != 2) return false;
  const Value &x = g.value(node.inputs[0]), &w = g.value(node.inputs[1]);
  if (x.constant || !w.constant || w.constant->dtype() != DType::kFloat32 || w.constant->rank() != 2) return false;
  if (x.type.dtype != DType::kFloat32 || !x.type.has_shape || x.type.dims.empty()) return false;
  *n = w.constant->dim(1);
  m.fused = {mm};
  m.out = node.outputs[0];
  return true;
}

// ORT's dynamic quantization of one MatMul: (xq, x_scale, x_zp) =
// DynamicQuantizeLinear(x); MatMulInteger(xq, Wq, x_zp[, w_zp = 0]) -> Cast to
// float -> Mul by s = Mul(x_scale, w_scale constant). Only where the sparse
// kernels will run it (the cost model, under the session's policy): the fused
// op has no dense int8 implementation, and the unfused chain keeps its own.
bool match_integer_head(const Graph& g, NodeId mm, const PassContext& ctx, Match& m, int64_t* n) {
  const Node& node = g.node(mm);
  if (node.op_type != "MatMulInteger" || !node.domain.empty() || node.inputs.size() < 3) return false;
  const Value& w = g.value(node.inputs[1]);
  if (!w.constant || w.constant->dtype() != DType::kInt8 || w.constant->rank() != 2) return false;
  if (node.inputs.size() > 3 && node.inputs[3] != kNoValue) {
    const Value& wz = g.value(node.inputs[3]);
    if (!wz.constant) return false;
    for (int64_t i = 0; i < wz.constant->num_elements(); ++i)
      if (wz.constant->element_as_int64(i) != 0) return false;
  }
  const NodeId dql = g.value(node.inputs[0]).producer;
  if (dql < 0 || g.node(dql).op_type != "DynamicQuantizeLinear" || g.node(dql).outputs.size() != 3 ||
      g.node(dql).outputs[0] != node.inputs[0] || g.node(dql).outputs[2] != node.inputs[2])
    return false;
  const ValueId x_scale = g.node(dql).outputs[1];
  const NodeId cast = sole_consumer(g, node.outputs[0]);
  if (!is_op(g, cast, "Cast")) return false;
  auto to = g.node(cast).attrs.get_int("to");
  if (!to.ok() || *to != static_cast<int64_t>(DType::kFloat32)) return false;
  const ValueId casted = g.node(cast).outputs[0];
  const NodeId scale_mul = sole_consumer(g, casted);
  if (!is_op(g, scale_mul, "Mul")) return false;
  const ValueId s = other_input(g, scale_mul, casted);
  if (s == kNoValue || g.value(s).is_graph_output) return false;
  const NodeId s_node = g.value(s).producer;
  if (!is_op(g, s_node, "Mul")) return false;
  const ValueId w_scale = other_input(g, s_node, x_scale);
  if (w_scale == kNoValue || !g.value(w_scale).constant || g.value(w_scale).constant->dtype() != DType::kFloat32)
    return false;
  const int64_t cols = w.constant->dim(1);
  const int64_t scales = g.value(w_scale).constant->num_elements();
  if (scales != 1 && scales != cols) return false;
  const SparseChoice choice = choose_sparse_s8(w.constant->data<int8_t>(), cols, w.constant->dim(0), 1, cols,
                                               ctx.isa_cap, ctx.sparse);
  if (!choice.sparse) return false;
  *n = cols;
  m.integer = true;
  m.x_scale = x_scale;
  m.w_scale = w_scale;
  m.fused = {mm, cast, scale_mul};
  if (g.value(s).consumers.size() == 1) m.fused.push_back(s_node);  // s feeds only this chain
  m.out = g.node(scale_mul).outputs[0];
  return true;
}

bool match(const Graph& g, NodeId mm, const PassContext& ctx, Match& m) {
  m = Match{};
  m.matmul = mm;
  int64_t n = 0;
  if (!match_float_head(g, mm, m, &n) && !match_integer_head(g, mm, ctx, m, &n)) return false;
  const size_t head = m.fused.size();
  // Bias.
  NodeId c = sole_consumer(g, m.out);
  if (is_op(g, c, "Add") && is_bias(g, other_input(g, c, m.out), n)) {
    m.bias = other_input(g, c, m.out);
    m.fused.push_back(c);
    m.out = g.node(c).outputs[0];
  }
  // Activation.
  c = sole_consumer(g, m.out);
  if (is_op(g, c, "Relu")) {
    m.act = LinearActivation::kRelu;
    m.fused.push_back(c);
    m.out = g.node(c).outputs[0];
  } else {
    Match trial = m;
    if (match_gelu(g, m.out, trial)) m = trial;
  }
  // Residual.
  c = sole_consumer(g, m.out);
  if (is_op(g, c, "Add")) {
    const ValueId r = other_input(g, c, m.out);
    const ValueId sum = g.node(c).outputs[0];
    if (r != kNoValue && !g.value(r).constant && g.value(r).type.dtype == DType::kFloat32 &&
        same_known_dims(g.value(r).type, g.value(m.out).type) && same_known_dims(g.value(sum).type, g.value(m.out).type) &&
        !depends_on(g, r, mm)) {
      m.residual = r;
      m.fused.push_back(c);
      m.out = sum;
    }
  }
  return m.integer || m.fused.size() > head;  // a bare MatMul stays a MatMul
}

}  // namespace

StatusOr<int> run_fuse_linear_epilogue(Graph& g, PassContext& ctx) {
  std::vector<Match> matches =
      disjoint_matches<Match>(g, [&](NodeId id, Match& m) { return match(g, id, ctx, m); });
  if (matches.empty()) return 0;
  // New nodes first (so the weights keep a reader), then the replaced ones go;
  // remove_nodes rebuilds every producer/consumer link.
  for (const Match& m : matches) {
    const Node& mm = g.node(m.matmul);
    Node lin;
    lin.name = mm.name;
    lin.domain = kSparsertDomain;
    lin.opset = 1;
    if (m.integer) {
      lin.op_type = "IntegerLinear";
      lin.inputs = {mm.inputs[0], mm.inputs[1], mm.inputs[2], m.x_scale, m.w_scale, m.bias, m.residual};
    } else {
      lin.op_type = "Linear";
      lin.inputs = {mm.inputs[0], mm.inputs[1], m.bias, m.residual};
    }
    while (lin.inputs.back() == kNoValue) lin.inputs.pop_back();
    lin.outputs = {m.out};
    lin.attrs.set("activation", std::string(linear_activation_name(m.act)));
    g.add_node(std::move(lin));
  }
  std::vector<bool> remove(g.num_nodes(), false);
  for (const Match& m : matches)
    for (NodeId f : m.fused) remove[f] = true;
  g.remove_nodes(remove);
  return static_cast<int>(matches.size());
}

}  // namespace sparsert::passes
