#include "graph/passes/fuse_attention.h"

#include <cmath>
#include <optional>
#include <vector>

#include "graph/passes/match_util.h"
#include "ops/attention.h"
#include "ops/linear.h"
#include "ops/quant_util.h"

namespace sparsert::passes {
namespace {

bool same_dim(const Dim& a, const Dim& b) {
  if (a.is_static() || b.is_static()) return a.value == b.value;
  return !a.symbol.empty() && a.symbol == b.symbol;
}

const ValueType& type_of(const Graph& g, ValueId v) { return g.value(v).type; }

bool is_float_rank(const ValueType& t, size_t rank) {
  return t.dtype == DType::kFloat32 && t.has_shape && t.dims.size() == rank;
}

bool has_perm(const Node& n, const std::vector<int64_t>& want) {
  auto perm = n.attrs.get_ints("perm");
  return perm.ok() && *perm == want;
}

// One head projection: x [B, S, H*D] -> Reshape [B, S, H, D] -> Transpose(perm),
// ending in value `t`, read only by `reader`. Returns x, and H and D.
struct Heads {
  ValueId x = kNoValue;
  int64_t H = 0, D = 0;
};
bool match_heads(const Graph& g, ValueId t, NodeId reader, const std::vector<int64_t>& perm, Heads& out) {
  if (sole_consumer(g, t) != reader) return false;
  const NodeId tr = g.value(t).producer;
  if (!is_op(g, tr, "Transpose") || !has_perm(g.node(tr), perm)) return false;
  const ValueId r = g.node(tr).inputs[0];
  const NodeId rs = g.value(r).producer;
  if (sole_consumer(g, r) != tr || !is_op(g, rs, "Reshape")) return false;
  const ValueId x = g.node(rs).inputs[0];
  const ValueType &xt = type_of(g, x), &rt = type_of(g, r);
  if (!is_float_rank(xt, 3) || !is_float_rank(rt, 4)) return false;
  if (!xt.dims[2].is_static() || !rt.dims[2].is_static() || !rt.dims[3].is_static()) return false;
  if (!same_dim(xt.dims[0], rt.dims[0]) || !same_dim(xt.dims[1], rt.dims[1])) return false;
  if (rt.dims[2].value * rt.dims[3].value != xt.dims[2].value || rt.dims[2].value < 1) return false;
  out = {x, rt.dims[2].value, rt.dims[3].value};
  return true;
}

bool scalar_float_constant(const Graph& g, ValueId v, float* value) {
  if (v == kNoValue || !g.value(v).constant) return false;
  const Tensor& t = *g.value(v).constant;
  if (t.dtype() != DType::kFloat32 || t.num_elements() != 1) return false;
  *value = t.data<float>()[0];
  return true;
}

using QdqSlot = std::optional<fast::QdqStep>;

struct Match {
  Heads q, k, v;
  ValueId mask = kNoValue, keep = kNoValue, out = kNoValue;
  float scale = 1.f, fill = 0.f;
  bool divide = false;
  NodeId reshape = -1, softmax = -1;
  QdqSlot qdq_scores, qdq_scaled, qdq_masked, qdq_probs, qdq_output;
};

bool is_qdq(const Graph& g, NodeId n) {
  return n >= 0 && g.node(n).domain == kSparsertDomain && g.node(n).op_type == "QuantizeDequantize";
}

// The pair's constants as the kernels take them; false when they are not a
// per-tensor constant scale (> 0) and zero point.
bool qdq_step(const Graph& g, NodeId n, QdqSlot* out) {
  auto p = per_tensor_quantization(g.node(n), g);
  if (!p.ok() || !(p->scale > 0.f) || !std::isfinite(p->scale)) return false;
  *out = fast::QdqStep{p->scale, p->zero_point, p->lo(), p->hi()};
  return true;
}

// Backwards over an optional Q/DQ pair: when `cur` (read only by `reader`) is
// a pair's output, moves cur and reader to its input and fills *slot. False
// when the pair cannot be folded (the chain then stays unfused).
bool back_over_qdq(const Graph& g, ValueId& cur, NodeId& reader, QdqSlot* slot) {
  const NodeId p = g.value(cur).producer;
  if (!is_qdq(g, p)) return true;
  if (sole_consumer(g, cur) != reader || !qdq_step(g, p, slot)) return false;
  cur = g.node(p).inputs[0];
  reader = p;
  return sole_consumer(g, cur) == reader;
}

// Forwards over an optional Q/DQ pair: when the only reader of `cur` is a
// pair, moves cur to its output and fills *slot.
bool forward_over_qdq(const Graph& g, ValueId& cur, QdqSlot* slot) {
  const NodeId c = sole_consumer(g, cur);
  if (!is_qdq(g, c)) return true;
  if (g.node(c).inputs[0] != cur || !qdq_step(g, c, slot)) return false;
  cur = g.node(c).outputs[0];
  return true;
}

// The scores up to the mask: `cur`, read only by `reader`, is
// [Where(keep, ., constant fill)] <- [Q/DQ] <- [Div or Mul by a constant scalar] <- [Q/DQ]
// <- MatMul(q heads, k heads).
bool match_scores(const Graph& g, ValueId cur, NodeId reader, Match& m) {
  if (sole_consumer(g, cur) != reader) return false;
  NodeId p = g.value(cur).producer;
  if (is_op(g, p, "Where")) {  // GPT-2's causal mask
    const Node& w = g.node(p);
    const ValueType& kt = type_of(g, w.inputs[0]);
    if (kt.dtype != DType::kBool || !kt.has_shape || kt.dims.size() > 4) return false;
    if (!scalar_float_constant(g, w.inputs[2], &m.fill)) return false;
    if (!same_known_dims(type_of(g, w.inputs[1]), type_of(g, w.outputs[0]))) return false;
    m.keep = w.inputs[0];
    cur = w.inputs[1];
    reader = p;
    if (sole_consumer(g, cur) != reader) return false;
  }
  QdqSlot pending;
  if (!back_over_qdq(g, cur, reader, &pending)) return false;
  p = g.value(cur).producer;
  if (is_op(g, p, "Div") || is_op(g, p, "Mul")) {
    const Node& sc = g.node(p);
    const bool div = sc.op_type == "Div";
    ValueId scores = sc.inputs[0];
    if (!scalar_float_constant(g, sc.inputs[1], &m.scale)) {
      if (div || !scalar_float_constant(g, sc.inputs[0], &m.scale)) return false;
      scores = sc.inputs[1];  // Mul(c, scores)
    }
    m.divide = div;
    m.qdq_scaled = pending;
    pending.reset();
    cur = scores;
    reader = p;
    if (sole_consumer(g, cur) != reader || !back_over_qdq(g, cur, reader, &pending)) return false;
    p = g.value(cur).producer;
  }
  if (!is_op(g, p, "MatMul")) return false;
  m.qdq_scores = pending;
  return match_heads(g, g.node(p).inputs[0], p, {0, 2, 1, 3}, m.q) &&
         match_heads(g, g.node(p).inputs[1], p, {0, 2, 3, 1}, m.k);
}

// From a Softmax node outwards (see the header for the chain).
bool match(const Graph& g, NodeId sm, Match& m) {
  if (!is_op(g, sm, "Softmax")) return false;
  const Node& s = g.node(sm);
  const ValueId probs = s.outputs[0];
  if (!is_float_rank(type_of(g, probs), 4)) return false;
  auto axis = s.attrs.get_int("axis", s.opset < 13 ? 1 : -1);
  if (!axis.ok() || (*axis != -1 && *axis != 3)) return false;  // the last axis (opset < 13: flattened from it)
  m.softmax = sm;
  // Backwards: [Q/DQ] <- optional Add(mask) <- the scores.
  ValueId cur = s.inputs[0];
  NodeId reader = sm;
  if (sole_consumer(g, cur) != sm) return false;
  QdqSlot pending;
  if (!back_over_qdq(g, cur, reader, &pending)) return false;
  const NodeId p = g.value(cur).producer;
  if (is_op(g, p, "Add")) {
    const Node& add = g.node(p);
    bool found = false;
    // Either side may be the mask; the rest of the chain decides (in a QDQ
    // graph both sides can be Q/DQ outputs of a Mul).
    for (int side = 0; side < 2 && !found; ++side) {
      const ValueId scores = add.inputs[side], mask = add.inputs[1 - side];
      const ValueType& mt = type_of(g, mask);
      if (mt.dtype != DType::kFloat32 || !mt.has_shape || mt.dims.size() > 4) continue;
      // The Add must not broadcast the scores up: its output is the scores' shape.
      if (!same_known_dims(type_of(g, scores), type_of(g, add.outputs[0]))) continue;
      Match t = m;
      if (!match_scores(g, scores, p, t)) continue;
      t.mask = mask;
      t.qdq_masked = pending;
      m = t;
      found = true;
    }
    if (!found) return false;
  } else {
    // No mask: the Q/DQ pair before the Softmax belongs to the scale or the scores.
    if (!match_scores(g, s.inputs[0], sm, m)) return false;
  }
  // Forwards: [Q/DQ] -> MatMul(probs, v) -> [Q/DQ] -> Transpose(0,2,1,3) -> Reshape [B, Sq, H*Dv].
  ValueId p_used = probs;
  if (!forward_over_qdq(g, p_used, &m.qdq_probs)) return false;
  const NodeId pv = sole_consumer(g, p_used);
  if (!is_op(g, pv, "MatMul") || g.node(pv).inputs[0] != p_used) return false;
  if (!match_heads(g, g.node(pv).inputs[1], pv, {0, 2, 1, 3}, m.v)) return false;
  ValueId o = g.node(pv).outputs[0];
  if (!forward_over_qdq(g, o, &m.qdq_output)) return false;
  const NodeId merge = sole_consumer(g, o);
  if (!is_op(g, merge, "Transpose") || !has_perm(g.node(merge), {0, 2, 1, 3})) return false;
  const ValueId merged = g.node(merge).outputs[0];
  if (g.value(merged).is_graph_output) return false;
  NodeId reshape = -1;
  for (NodeId c : g.value(merged).consumers) {
    if (is_op(g, c, "Reshape") && reshape < 0) reshape = c;
    else if (!is_op(g, c, "Shape")) return false;
  }
  if (reshape < 0 || g.node(reshape).inputs[0] != merged) return false;
  m.reshape = reshape;
  m.out = g.node(reshape).outputs[0];
  // The dims line up: one H, q and k share D, k and v share B and Sk, and
  // the output is [B, Sq, H*Dv].
  const ValueType &qt = type_of(g, m.q.x), &kt = type_of(g, m.k.x), &vt = type_of(g, m.v.x), &ot = type_of(g, m.out);
  if (m.q.H != m.k.H || m.q.H != m.v.H || m.q.D != m.k.D) return false;
  if (!same_dim(qt.dims[0], kt.dims[0]) || !same_dim(qt.dims[0], vt.dims[0]) || !same_dim(kt.dims[1], vt.dims[1]))
    return false;
  if (!is_float_rank(ot, 3) || !same_dim(ot.dims[0], qt.dims[0]) || !same_dim(ot.dims[1], qt.dims[1]) ||
      !same_dim(ot.dims[2], vt.dims[2]))
    return false;
  return true;
}

}  // namespace

StatusOr<int> run_fuse_attention(Graph& g, PassContext&) {
  std::vector<Match> matches;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    Match m;
    if (match(g, id, m)) matches.push_back(m);
  }
  if (matches.empty()) return 0;
  // The Attention node takes over the final Reshape's output; everything
  // between it and the projections loses its last reader and goes with dead
  // code elimination (which runs next).
  std::vector<bool> remove(g.num_nodes(), false);
  for (Match& m : matches) {
    Node att;
    att.name = g.node(m.softmax).name + "_attention";
    att.op_type = "Attention";
    att.domain = kSparsertDomain;
    att.opset = 1;
    att.inputs = {m.q.x, m.k.x, m.v.x};
    if (m.mask != kNoValue || m.keep != kNoValue) att.inputs.push_back(m.mask);
    if (m.keep != kNoValue) {
      att.inputs.push_back(m.keep);
      att.attrs.set("fill", m.fill);
    }
    att.outputs = {m.out};
    // Dividing by a power of two is multiplying by its exact inverse, for
    // every float: the kernels then multiply (BERT's sqrt(64) = 8).
    int exponent = 0;
    const bool power_of_two = std::frexp(m.scale, &exponent) == 0.5f && exponent > -125 && exponent < 126;
    if (m.divide && power_of_two) m.scale = 1.f / m.scale, m.divide = false;
    att.attrs.set("num_heads", m.q.H);
    att.attrs.set("scale", m.scale);
    att.attrs.set("divide", static_cast<int64_t>(m.divide ? 1 : 0));
    const QdqSlot* slots[5] = {&m.qdq_scores, &m.qdq_scaled, &m.qdq_masked, &m.qdq_probs, &m.qdq_output};
    for (int i = 0; i < 5; ++i)
      if (*slots[i]) att.attrs.set(kAttentionQdqAttrs[i], attention_qdq_attr(**slots[i]));
    remove[m.reshape] = true;
    g.add_node(std::move(att));
  }
  remove.resize(g.num_nodes(), false);
  g.remove_nodes(remove);
  return static_cast<int>(matches.size());
}

}  // namespace sparsert::passes
