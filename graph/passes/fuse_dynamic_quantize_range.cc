#include "graph/passes/fuse_dynamic_quantize_range.h"

#include <vector>

#include "ops/linear.h"  // kSparsertDomain

namespace sparsert::passes {

StatusOr<int> run_fuse_dynamic_quantize_range(Graph& g, PassContext&) {
  struct Match {
    NodeId linear, quantize;
  };
  std::vector<Match> matches;
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    const Node& q = g.node(id);
    if (q.op_type != "DynamicQuantizeLinear" || !q.domain.empty() || q.inputs.size() != 1) continue;
    const NodeId p = g.value(q.inputs[0]).producer;
    if (p < 0) continue;
    const Node& lin = g.node(p);
    if (lin.op_type != "IntegerLinear" || lin.domain != kSparsertDomain || lin.outputs.size() != 1) continue;
    matches.push_back({p, id});  // (one quantization per IntegerLinear: its outputs grow just once)
  }
  if (matches.empty()) return 0;
  std::vector<bool> remove(g.num_nodes(), false);
  int count = 0;
  for (const Match& m : matches) {
    if (remove[m.linear]) continue;  // a second quantization of the same output stays as it is
    Node lin = g.node(m.linear), quant = g.node(m.quantize);
    const ValueId y = lin.outputs[0];
    ValueType range_type;
    range_type.dtype = DType::kFloat32;
    range_type.has_shape = true;
    range_type.dims = {Dim::of(2)};
    const ValueId range = g.add_value(g.unused_name(g.value(y).name + "_range"), range_type);
    lin.outputs.push_back(range);
    quant.domain = kSparsertDomain;
    quant.opset = 1;
    quant.inputs.push_back(range);
    g.add_node(std::move(lin));
    g.add_node(std::move(quant));
    remove[m.linear] = remove[m.quantize] = true;
    ++count;
  }
  remove.resize(g.num_nodes(), false);
  g.remove_nodes(remove);
  return count;
}

}  // namespace sparsert::passes
