#pragma once
#include "graph/passes/pass.h"
namespace sparsert::passes {
// Evaluates nodes whose inputs are all constants with the registry's reference
// kernels and replaces them by constants (shape chains such as
// Shape->Gather->Unsqueeze->Concat on static dims disappear). Returns the count.
StatusOr<int> run_constant_folding(Graph& graph, PassContext& ctx);
}  // namespace sparsert::passes
