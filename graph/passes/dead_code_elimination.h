#pragma once
#include "graph/passes/pass.h"
namespace sparsert::passes {
// Removes nodes none of whose outputs reach a graph output. Returns the count.
StatusOr<int> run_dead_code_elimination(Graph& graph, PassContext& ctx);
}  // namespace sparsert::passes
