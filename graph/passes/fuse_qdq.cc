#include "graph/passes/fuse_qdq.h"

#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"

namespace sparsert::passes {
namespace {

bool is_onnx(const Graph& g, NodeId n, const char* op) {
  return n >= 0 && g.node(n).domain.empty() && g.node(n).op_type == op;
}

bool is_scalar(const Tensor* t, DType dtype) { return t && t->dtype() == dtype && t->num_elements() == 1; }

// A per-tensor quantization with an explicit uint8 zero point (inputs 1 and 2
// of a QuantizeLinear / DequantizeLinear).
bool per_tensor_u8(const Graph& g, const Node& n) {
  auto p = per_tensor_quantization(n, g);
  return n.inputs.size() == 3 && p.ok() && p->has_zero_point && p->qtype == DType::kUInt8;
}

// DequantizeLinear of a constant int8 [K, N] with zero points 0 and a scale
// per tensor or per column (axis 1).
bool is_int8_weight(const Graph& g, NodeId id) {
  if (!is_onnx(g, id, "DequantizeLinear")) return false;
  const Node& n = g.node(id);
  const Tensor* w = constant_input(n, g, 0);
  const Tensor* scale = constant_input(n, g, 1);
  if (!w || w->dtype() != DType::kInt8 || w->rank() != 2 || !scale || scale->dtype() != DType::kFloat32) return false;
  if (scale->num_elements() != 1) {
    auto axis = n.attrs.get_int("axis", 1);
    if (!axis.ok() || (*axis != 1 && *axis != -1) || scale->rank() != 1 || scale->num_elements() != w->dim(1)) return false;
  }
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Tensor* zp = constant_input(n, g, 2);
    if (!zp || zp->dtype() != DType::kInt8 || zp->num_elements() != scale->num_elements()) return false;
    for (int64_t i = 0; i < zp->num_elements(); ++i)
      if (zp->data<int8_t>()[i] != 0) return false;
  }
  return true;
}

// Ops that only move or relabel elements.
bool moves_data(const Graph& g, NodeId id) {
  for (const char* op : {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity"})
    if (is_onnx(g, id, op)) return true;
  return false;
}

// A QuantizeDequantize of values that already went through one with the same
// scale and zero point (only data movement between them, as ORT writes around
// Reshape and Transpose) changes nothing: each value is (q - zp) * s, and
// dividing by s again is off by far less than half a step, so it rounds back
// to q. Such nodes are bypassed (their readers take the input) and marked in
// `remove`; returns how many.
int drop_repeated_quantization(Graph& g, std::vector<bool>& remove) {
  auto order = g.topological_order();
  if (!order.ok()) return 0;
  int dropped = 0;
  for (NodeId id : *order) {
    const Node& n = g.node(id);
    if (remove[id] || n.domain != kSparsertDomain || n.op_type != "QuantizeDequantize" || n.inputs.size() != 3) continue;
    if (g.value(n.outputs[0]).is_graph_output) continue;
    NodeId p = g.value(n.inputs[0]).producer;
    while (p >= 0 && !remove[p] && moves_data(g, p)) p = g.value(g.node(p).inputs[0]).producer;
    if (p < 0 || remove[p]) continue;
    const Node& first = g.node(p);
    if (first.domain != kSparsertDomain || first.op_type != "QuantizeDequantize" || first.inputs.size() != 3 ||
        first.inputs[1] != n.inputs[1] || first.inputs[2] != n.inputs[2] || !is_scalar(constant_input(n, g, 1), DType::kFloat32))
      continue;
    const ValueId in = n.inputs[0], out = n.outputs[0];
    for (NodeId c : g.value(out).consumers)
      for (ValueId& v : g.node(c).inputs)
        if (v == out) v = in;
    remove[id] = true;
    ++dropped;
  }
  return dropped;
}

}  // namespace

StatusOr<int> run_fuse_qdq(Graph& g, PassContext&) {
  std::vector<Node> fused;  // the nodes written, added to the graph in two batches
  std::vector<bool> remove(g.num_nodes(), false);
  int matmuls = 0;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    if (!is_onnx(g, id, "MatMul") || g.node(id).inputs.size() != 2) continue;
    const Node& mm = g.node(id);
    const NodeId a_dq = g.value(mm.inputs[0]).producer, w_dq = g.value(mm.inputs[1]).producer;
    if (!is_onnx(g, a_dq, "DequantizeLinear") || !per_tensor_u8(g, g.node(a_dq)) || !is_int8_weight(g, w_dq)) continue;
    const Value& y = g.value(mm.outputs[0]);
    if (y.is_graph_output || y.consumers.size() != 1 || !is_onnx(g, y.consumers[0], "QuantizeLinear")) continue;
    const NodeId q = y.consumers[0];
    if (!per_tensor_u8(g, g.node(q))) continue;
    const Node &a = g.node(a_dq), &w = g.node(w_dq), &out = g.node(q);
    Node n;
    n.name = mm.name;
    n.op_type = "QLinearMatMul";
    n.opset = mm.opset;
    n.inputs = {a.inputs[0], a.inputs[1], a.inputs[2], w.inputs[0], w.inputs[1],
                w.inputs.size() > 2 ? w.inputs[2] : kNoValue, out.inputs[1], out.inputs[2]};
    if (n.inputs[5] == kNoValue) {  // QLinearMatMul needs B's zero point: zeros of the scale's shape
      const Tensor& scale = *g.value(w.inputs[1]).constant;
      SPARSERT_ASSIGN_OR_RETURN(Tensor zeros, Tensor::allocate(DType::kInt8, scale.shape()));
      n.inputs[5] = g.add_constant(g.unused_name(mm.name + "/b_zero_point"), std::move(zeros));
    }
    n.outputs = {out.outputs[0]};
    fused.push_back(std::move(n));
    remove[id] = remove[q] = true;
    ++matmuls;
  }
  // Gather(DequantizeLinear(table), indices) -> DequantizeLinear(Gather(table,
  // indices)) for a constant 8-bit table with a per-tensor scale: only the
  // gathered rows are dequantized (BERT-base's word embedding is 23M values,
  // too large to fold into float).
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    if (!is_onnx(g, id, "Gather") || g.node(id).inputs.size() != 2) continue;
    const NodeId dq_id = g.value(g.node(id).inputs[0]).producer;
    if (!is_onnx(g, dq_id, "DequantizeLinear")) continue;
    const Node& dq = g.node(dq_id);
    const Tensor* table = constant_input(dq, g, 0);
    const Tensor* scale = constant_input(dq, g, 1);
    const Tensor* zp = constant_input(dq, g, 2);
    const bool has_zp = dq.inputs.size() > 2 && dq.inputs[2] != kNoValue;
    if (!table || (table->dtype() != DType::kInt8 && table->dtype() != DType::kUInt8) ||
        !is_scalar(scale, DType::kFloat32) || (has_zp && !is_scalar(zp, table->dtype())))
      continue;
    const Node gather = g.node(id);
    const Value& out = g.value(gather.outputs[0]);
    const std::string name = g.unused_name(out.name + "/quantized");
    ValueType t = out.type;
    t.dtype = table->dtype();
    const ValueId rows = g.add_value(name, t);
    Node gq = gather;
    gq.inputs = {dq.inputs[0], gather.inputs[1]};
    gq.outputs = {rows};
    Node deq;
    deq.name = gather.name + "/dequantize";
    deq.op_type = "DequantizeLinear";
    deq.opset = dq.opset;
    deq.inputs = {rows, dq.inputs[1]};
    if (has_zp) deq.inputs.push_back(dq.inputs[2]);
    deq.outputs = gather.outputs;
    fused.push_back(std::move(gq));
    fused.push_back(std::move(deq));
    remove[id] = true;
  }
  const int gathers = static_cast<int>(fused.size()) - matmuls;

  // Wired in now, so the pairs below see the Qs these read.
  for (Node& n : fused) g.add_node(std::move(n));
  fused.clear();
  remove.resize(g.num_nodes(), false);
  // Q -> DQ pairs left on float paths (same scale and zero point, the Q's
  // only reader is the DQ) become one QuantizeDequantize: the rounding stays,
  // the 8-bit tensor between them goes.
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    if (remove[id] || !is_onnx(g, id, "QuantizeLinear")) continue;
    const Node& q = g.node(id);
    const Value& qv = g.value(q.outputs[0]);
    if (q.inputs.size() != 3 || qv.is_graph_output || qv.consumers.size() != 1 ||
        !is_onnx(g, qv.consumers[0], "DequantizeLinear"))
      continue;
    const NodeId dq_id = qv.consumers[0];
    const Node& dq = g.node(dq_id);
    if (remove[dq_id] || dq.inputs.size() != 3 || dq.inputs[1] != q.inputs[1] || dq.inputs[2] != q.inputs[2]) continue;
    auto q_axis = q.attrs.get_int("axis", 1), dq_axis = dq.attrs.get_int("axis", 1);
    if (!q_axis.ok() || !dq_axis.ok() || *q_axis != *dq_axis) continue;
    Node n;
    n.name = q.name;
    n.op_type = "QuantizeDequantize";
    n.domain = kSparsertDomain;
    n.opset = 1;
    n.inputs = q.inputs;
    n.outputs = dq.outputs;
    n.attrs = q.attrs;
    fused.push_back(std::move(n));
    remove[id] = remove[dq_id] = true;
  }
  const int pairs = static_cast<int>(fused.size());
  for (Node& n : fused) g.add_node(std::move(n));
  remove.resize(g.num_nodes(), false);
  const int dropped = drop_repeated_quantization(g, remove);
  g.remove_nodes(remove);
  return matmuls + gathers / 2 + pairs + dropped;
}

}  // namespace sparsert::passes
