#pragma once
#include "graph/passes/pass.h"
namespace sparsert::passes {
// Annotates every node output with the dtype and dims (static or symbolic)
// its op's shape rule derives (ops/shape_rules.h), merged with what the model
// declares. A static dim that contradicts the model's declaration is an error
// naming the value, the node and both types. Returns the count of values whose
// type changed.
StatusOr<int> run_shape_inference(Graph& graph, PassContext& ctx);
}  // namespace sparsert::passes
