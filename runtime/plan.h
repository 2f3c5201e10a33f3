// Plan: what compile() makes of a graph: the optimized graph, a kernel per node
// in execution order, and when each value can be freed.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "ops/registry.h"
#include "runtime/session.h"

namespace sparsert {

struct PlannedNode {
  NodeId node;
  const OpSchema* schema;
  KernelFn kernel;                  // the chosen implementation
  std::string kernel_name;          // "reference", "onednn_linear_f32", ...
  std::vector<std::string> declined;   // "impl: why", for every implementation tried before
  ImplReport report;                   // what the chosen implementation said of its choice
  std::vector<ValueId> release_after;  // values whose last reader is this node
};

struct Plan {
  Graph graph;
  std::vector<PlannedNode> steps;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  std::vector<std::string> pass_log;
  SessionOptions options;
  uint32_t isa_cap = 0;
  int threads = 1;
};

// Runs the pass pipeline and picks a kernel for every node. Errors list every
// unsupported op of the model at once.
StatusOr<std::unique_ptr<Plan>> compile_plan(Graph graph, const SessionOptions& options);

}  // namespace sparsert
