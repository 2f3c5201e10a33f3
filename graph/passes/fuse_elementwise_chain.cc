#include "graph/passes/fuse_elementwise_chain.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ops/elementwise_chain.h"
#include "ops/linear.h"
#include "ops/quant_util.h"

namespace sparsert::passes {
namespace {

// Scale, zero point and 8-bit range of a per-tensor (De)QuantizeLinear or
// QuantizeDequantize with constant parameters.
bool per_tensor_step(const Graph& g, const Node& n, ChainStep* s) {
  auto p = per_tensor_quantization(n, g);
  if (!p.ok() || !(p->scale != 0.f) || !std::isfinite(p->scale)) return false;
  s->c[0] = p->scale;
  s->c[1] = p->zero_point;
  s->c[2] = p->lo();
  s->c[3] = p->hi();
  return true;
}

bool is_onnx(const Node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

class ChainBuilder {
 public:
  explicit ChainBuilder(const Graph& g) : g_(g) {}

  struct Chain {
    std::vector<NodeId> nodes;
    std::vector<ValueId> values;  // values[i]: output of nodes[i]
    std::vector<ChainStep> steps;
    std::vector<size_t> step_end;  // steps.size() after nodes[i]
    ValueId x = kNoValue;
    std::vector<ValueId> side;     // node inputs 1..
    std::map<ValueId, int> regs;   // chain value -> register holding it
  };

  // The chain starting at `head` (empty when head cannot start one).
  Chain build(NodeId head, const std::vector<bool>& claimed, const std::vector<int>& position) {
    Chain c;
    const Node& h = g_.node(head);
    ChainStep first;
    if (is_onnx(h, "DequantizeLinear")) {
      const Value& x = g_.value(h.inputs[0]);
      if (x.constant || !x.type.has_shape || !per_tensor_step(g_, h, &first)) return {};
      if (x.type.dtype != (first.c[2] < 0.f ? DType::kInt8 : DType::kUInt8)) return {};
      first.op = ChainOp::kDequantize;
      c.x = h.inputs[0];
      c.nodes = {head};
      c.values = {h.outputs[0]};
      c.steps = {first};
      c.step_end = {1};
    } else {
      // X: the first non-constant float input.
      for (ValueId in : h.inputs)
        if (in != kNoValue && !g_.value(in).constant) { c.x = in; break; }
      if (c.x == kNoValue) return {};
      const Value& x = g_.value(c.x);
      if (x.type.dtype != DType::kFloat32 || !x.type.has_shape) return {};
      if (!append(c, head, c.x)) return {};
    }
    while (true) {
      const ValueId v = c.values.back();
      const Value& val = g_.value(v);
      if (val.is_graph_output || c.steps.back().op == ChainOp::kQuantize) break;
      std::vector<NodeId> readers;
      for (NodeId r : val.consumers)
        if (std::find(readers.begin(), readers.end(), r) == readers.end()) readers.push_back(r);
      if (readers.empty() || readers.size() > 2) break;
      std::sort(readers.begin(), readers.end(), [&](NodeId a, NodeId b) { return position[a] < position[b]; });
      const NodeId next = readers[0];
      if (claimed[next]) break;
      const size_t saved_steps = c.steps.size();
      if (readers.size() == 2) {  // read again later in the chain (GELU's x): keep it in a register
        if (static_cast<int>(c.regs.size()) >= kChainRegisters) break;
        ChainStep save;
        save.op = ChainOp::kSave;
        save.index = static_cast<int64_t>(c.regs.size());
        c.regs[v] = static_cast<int>(save.index);
        c.steps.push_back(save);
      }
      if (!append(c, next, v)) {
        c.steps.resize(saved_steps);
        c.regs.erase(v);
        break;
      }
    }
    cut_at_outside_readers(c);
    return c;
  }

 private:
  // Adds node n with chain value v as its data operand; false when it does not fit.
  bool append(Chain& c, NodeId id, ValueId v) {
    const Node& n = g_.node(id);
    if (n.outputs.size() != 1) return false;
    const ValueType& vt = g_.value(v).type;
    const ValueType& out = g_.value(n.outputs[0]).type;
    ChainStep s;
    const bool binary = is_onnx(n, "Add") || is_onnx(n, "Sub") || is_onnx(n, "Mul") || is_onnx(n, "Div");
    if (binary) {
      if (n.inputs.size() != 2 || (n.inputs[0] == v) == (n.inputs[1] == v)) return false;
      if (!same_known_dims(out, vt)) return false;
      const bool value_first = n.inputs[0] == v;
      const ValueId other = value_first ? n.inputs[1] : n.inputs[0];
      const Value& o = g_.value(other);
      if (o.type.dtype != DType::kFloat32) return false;
      if (o.constant && o.constant->num_elements() == 1) {
        s.kind = OperandKind::kConstant;
        s.c[0] = o.constant->data<float>()[0];
      } else if (c.regs.count(other)) {
        s.kind = OperandKind::kRegister;
        s.index = c.regs.at(other);
      } else if (o.type.has_shape && (same_known_dims(o.type, vt) || per_column(o.type, vt))) {
        s.kind = OperandKind::kSide;
        auto it = std::find(c.side.begin(), c.side.end(), other);
        if (it == c.side.end()) {
          if (c.side.size() >= 15) return false;
          c.side.push_back(other);
          it = c.side.end() - 1;
        }
        s.index = 1 + (it - c.side.begin());
      } else {
        return false;
      }
      const std::string& op = n.op_type;
      s.op = op == "Add" ? ChainOp::kAdd : op == "Mul" ? ChainOp::kMul
           : op == "Sub" ? (value_first ? ChainOp::kSub : ChainOp::kSubRev)
                         : (value_first ? ChainOp::kDiv : ChainOp::kDivRev);
    } else if ((is_onnx(n, "Erf") || is_onnx(n, "Sigmoid") || is_onnx(n, "Relu")) && n.inputs.size() == 1 &&
               n.inputs[0] == v) {
      s.op = n.op_type == "Erf" ? ChainOp::kErf : n.op_type == "Sigmoid" ? ChainOp::kSigmoid : ChainOp::kRelu;
      if (out.dtype != DType::kFloat32) return false;
    } else if (n.domain == kSparsertDomain && n.op_type == "QuantizeDequantize" && n.inputs[0] == v) {
      if (!per_tensor_step(g_, n, &s) || !n.attrs.get_int("axis", 1).ok()) return false;
      s.op = ChainOp::kQuantizeDequantize;
    } else if (is_onnx(n, "QuantizeLinear") && n.inputs[0] == v) {
      if (!per_tensor_step(g_, n, &s)) return false;
      s.op = ChainOp::kQuantize;
    } else {
      return false;
    }
    if (vt.dtype != DType::kFloat32) return false;
    c.nodes.push_back(id);
    c.values.push_back(n.outputs[0]);
    c.steps.push_back(s);
    c.step_end.push_back(c.steps.size());
    return true;
  }

  // A constant or tensor of one value per last-axis position of `v`
  // (leading dims 1), e.g. a bias [N] or a mask [batch, 1, 1, sequence] with batch 1.
  static bool per_column(const ValueType& o, const ValueType& v) {
    if (v.dims.empty() || !v.dims.back().is_static() || o.dims.empty() || o.dims.size() > v.dims.size()) return false;
    for (size_t i = 0; i + 1 < o.dims.size(); ++i)
      if (!o.dims[i].is_static() || o.dims[i].value != 1) return false;
    return o.dims.back().is_static() && o.dims.back().value == v.dims.back().value;
  }

  // Intermediate values read outside the chain end it there.
  void cut_at_outside_readers(Chain& c) const {
    const std::set<NodeId> inside(c.nodes.begin(), c.nodes.end());
    for (size_t i = 0; i + 1 < c.values.size(); ++i) {
      const Value& v = g_.value(c.values[i]);
      bool outside = v.is_graph_output;
      for (NodeId r : v.consumers) outside = outside || !inside.count(r);
      if (!outside) continue;
      c.nodes.resize(i + 1);
      c.values.resize(i + 1);
      c.steps.resize(c.step_end[i]);
      c.step_end.resize(i + 1);
      // Registers and side inputs only later steps used are harmless but unneeded.
      std::vector<ValueId> used;
      for (const ChainStep& s : c.steps)
        if (s.kind == OperandKind::kSide) used.push_back(c.side[static_cast<size_t>(s.index - 1)]);
      std::vector<ValueId> side;
      for (ValueId sv : c.side)
        if (std::find(used.begin(), used.end(), sv) != used.end()) side.push_back(sv);
      for (ChainStep& s : c.steps)
        if (s.kind == OperandKind::kSide)
          s.index = 1 + (std::find(side.begin(), side.end(), c.side[static_cast<size_t>(s.index - 1)]) - side.begin());
      c.side = side;
      return;
    }
  }

  const Graph& g_;
};

}  // namespace

StatusOr<int> run_fuse_elementwise_chain(Graph& g, PassContext&) {
  SPARSERT_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.topological_order());
  std::vector<int> position(g.num_nodes(), 0);
  for (size_t i = 0; i < order.size(); ++i) position[order[i]] = static_cast<int>(i);
  std::vector<bool> claimed(g.num_nodes(), false);
  std::vector<Node> fused;
  ChainBuilder builder(g);
  for (NodeId id : order) {
    if (claimed[id]) continue;
    ChainBuilder::Chain c = builder.build(id, claimed, position);
    if (c.nodes.size() < 2) continue;
    for (NodeId n : c.nodes) claimed[n] = true;
    Node n;
    n.name = g.node(c.nodes.front()).name + "/chain";
    n.op_type = "ElementwiseChain";
    n.domain = kSparsertDomain;
    n.opset = 1;
    n.inputs = {c.x};
    n.inputs.insert(n.inputs.end(), c.side.begin(), c.side.end());
    n.outputs = {c.values.back()};
    write_chain_attributes(c.steps, n.attrs);
    fused.push_back(std::move(n));
  }
  if (fused.empty()) return 0;
  const int count = static_cast<int>(fused.size());
  for (Node& n : fused) g.add_node(std::move(n));
  claimed.resize(g.num_nodes(), false);
  g.remove_nodes(claimed);
  return count;
}

}  // namespace sparsert::passes
