// Rewrites nodes from older opsets into the form of the newest opset where an
// attribute became an input (Squeeze axes, Reduce* axes, Split sizes, Slice
// starts/ends, Pad pads, Clip min/max, TopK k). Kernels then handle one form.
#pragma once

#include "base/status.h"
#include "graph/graph.h"

namespace sparsert {

Status upgrade_attributes_to_inputs(Graph& graph, NodeId node_id);

}  // namespace sparsert
