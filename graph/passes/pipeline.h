// The pass pipeline: the only place that knows the order of passes.
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Runs every enabled pass in order; `level` 0 runs none (the reference plan).
Status run_pipeline(Graph& graph, PassContext& ctx, int level);

}  // namespace sparsert::passes
