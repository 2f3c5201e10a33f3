#include "graph/passes/constant_folding.h"

#include "ops/registry.h"

namespace sparsert::passes {

StatusOr<int> run_constant_folding(Graph& g, PassContext& ctx) {
  const OpRegistry& registry = OpRegistry::global();
  SPARSERT_ASSIGN_OR_RETURN(std::vector<NodeId> order, g.topological_order());
  std::vector<bool> remove(g.num_nodes(), false);
  int folded = 0;
  for (NodeId id : order) {
    const Node& n = g.node(id);
    const OpSchema* schema = registry.find(n.domain, n.op_type);
    if (!schema || !check_arity(*schema, n).ok()) continue;  // the session reports these
    bool all_const = !n.inputs.empty();
    std::vector<const Tensor*> inputs;
    for (ValueId in : n.inputs) {
      if (in == kNoValue) { inputs.push_back(nullptr); continue; }
      const Value& v = g.value(in);
      if (!v.constant) { all_const = false; break; }
      inputs.push_back(&*v.constant);
    }
    if (!all_const) continue;
    std::vector<Tensor> outputs(n.outputs.size());
    KernelContext kc(n, inputs, &outputs);
    Status st = schema->reference(kc);
    // A failure here is left for run time to report with the caller's inputs in view.
    if (!st.ok()) continue;
    bool fits = true;
    for (const Tensor& t : outputs) fits = fits && t.byte_size() <= ctx.max_folded_bytes;
    if (!fits) continue;
    for (size_t i = 0; i < n.outputs.size(); ++i)
      if (n.outputs[i] != kNoValue) g.set_constant(n.outputs[i], std::move(outputs[i]));
    remove[id] = true;
    ++folded;
  }
  if (folded) g.remove_nodes(remove);
  return folded;
}

}  // namespace sparsert::passes
