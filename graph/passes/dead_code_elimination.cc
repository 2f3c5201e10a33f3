#include "graph/passes/dead_code_elimination.h"

namespace sparsert::passes {

StatusOr<int> run_dead_code_elimination(Graph& g, PassContext& ctx) {
  // Mark live values backwards from the graph outputs.
  std::vector<bool> live_node(g.num_nodes(), false);
  std::vector<ValueId> stack(g.outputs().begin(), g.outputs().end());
  std::vector<bool> seen(g.num_values(), false);
  while (!stack.empty()) {
    ValueId v = stack.back();
    stack.pop_back();
    if (v == kNoValue || seen[v]) continue;
    seen[v] = true;
    NodeId p = g.value(v).producer;
    if (p < 0 || live_node[p]) continue;
    live_node[p] = true;
    for (ValueId in : g.node(p).inputs) stack.push_back(in);
  }
  std::vector<bool> remove(g.num_nodes());
  int removed = 0;
  for (size_t n = 0; n < g.num_nodes(); ++n) {
    remove[n] = !live_node[n];
    removed += remove[n];
  }
  if (removed) g.remove_nodes(remove);
  return removed;
}

}  // namespace sparsert::passes
