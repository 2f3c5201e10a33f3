#include "graph/onnx_opset_upgrade.h"

#include <set>

namespace sparsert {
namespace {

// Places `tensor` as input `index` of the node (padding skipped optional inputs).
void set_input_constant(Graph& g, NodeId id, size_t index, const std::string& suffix, Tensor tensor) {
  std::string name = g.node(id).name + "/" + suffix + "__attr" + std::to_string(id);
  ValueId v = g.add_constant(name, std::move(tensor));
  Node& n = g.node(id);
  if (n.inputs.size() <= index) n.inputs.resize(index + 1, kNoValue);
  n.inputs[index] = v;
  g.value(v).consumers.push_back(id);
}

Status move_ints(Graph& g, NodeId id, const char* attr, size_t index) {
  Node& n = g.node(id);
  if (!n.attrs.has(attr)) return Status::OK();
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> v, n.attrs.get_ints(attr));
  n.attrs.erase(attr);
  set_input_constant(g, id, index, attr, Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
  return Status::OK();
}

Status move_float_scalar(Graph& g, NodeId id, const char* attr, size_t index) {
  Node& n = g.node(id);
  if (!n.attrs.has(attr)) return Status::OK();
  SPARSERT_ASSIGN_OR_RETURN(float v, n.attrs.get_float(attr));
  n.attrs.erase(attr);
  set_input_constant(g, id, index, attr, Tensor::scalar<float>(v));
  return Status::OK();
}

}  // namespace

Status upgrade_attributes_to_inputs(Graph& g, NodeId id) {
  const Node& n = g.node(id);
  if (!n.domain.empty()) return Status::OK();
  const std::string op = n.op_type;
  const int opset = n.opset;
  static const std::set<std::string> reduce18 = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                                 "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                                                 "ReduceSumSquare"};
  Status st;
  if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && opset < 13) {
    st = move_ints(g, id, "axes", 1);
  } else if (reduce18.count(op) && opset < 18) {
    st = move_ints(g, id, "axes", 1);
  } else if (op == "Split" && opset < 13) {
    st = move_ints(g, id, "split", 1);
  } else if (op == "Slice" && opset < 10) {
    st = move_ints(g, id, "starts", 1);
    if (st.ok()) st = move_ints(g, id, "ends", 2);
    if (st.ok()) st = move_ints(g, id, "axes", 3);
  } else if (op == "Pad" && opset < 11) {
    st = move_ints(g, id, "pads", 1);
    if (st.ok()) st = move_float_scalar(g, id, "value", 2);
    g.node(id).attrs.erase("paddings");
  } else if (op == "Clip" && opset < 11) {
    st = move_float_scalar(g, id, "min", 1);
    if (st.ok()) st = move_float_scalar(g, id, "max", 2);
  } else if (op == "Resize" && opset < 11) {
    // Resize-10 (X, scales) is Resize-11 with no roi, asymmetric coordinates and
    // floor for nearest (the ONNX version converter's mapping).
    Node& m = g.node(id);
    if (m.inputs.size() == 2) {
      m.inputs = {m.inputs[0], kNoValue, m.inputs[1]};
      m.attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
      m.attrs.set("nearest_mode", std::string("floor"));
    }
  } else if (op == "TopK" && opset < 10) {
    Node& m = g.node(id);
    if (m.attrs.has("k")) {
      auto k = m.attrs.get_int("k");
      if (!k.ok()) return k.status().with_context(m.describe());
      m.attrs.erase("k");
      set_input_constant(g, id, 1, "k", Tensor::from_vector<int64_t>({1}, {*k}));
    }
  }
  if (!st.ok()) return st.with_context(g.node(id).describe());
  return Status::OK();
}

}  // namespace sparsert
