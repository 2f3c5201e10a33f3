// Small graph queries shared by the pattern-matching passes (fuse_attention,
// fuse_layer_norm, fuse_linear_epilogue, nchwc_layout), and the rule they
// share for overlapping matches.
#pragma once

#include <utility>
#include <vector>

#include "graph/graph.h"

namespace sparsert::passes {

// Node n exists and is the default-domain (ONNX) op `op`.
inline bool is_op(const Graph& g, NodeId n, const char* op) {
  return n >= 0 && g.node(n).op_type == op && g.node(n).domain.empty();
}

// The one node reading v (v not a graph output), or -1.
inline NodeId sole_consumer(const Graph& g, ValueId v) {
  const Value& val = g.value(v);
  if (val.is_graph_output || val.consumers.size() != 1) return -1;
  return val.consumers[0];
}

// The input of binary node n that is not v (kNoValue when both or neither are).
inline ValueId other_input(const Graph& g, NodeId n, ValueId v) {
  const Node& node = g.node(n);
  if (node.inputs.size() != 2) return kNoValue;
  if (node.inputs[0] == v && node.inputs[1] != v) return node.inputs[1];
  if (node.inputs[1] == v && node.inputs[0] != v) return node.inputs[0];
  return kNoValue;
}

// try_match(id, match) at every node in order; a match that shares a node
// (Match::fused) with an earlier one is dropped, so each node fuses once.
template <class Match, class TryMatch>
std::vector<Match> disjoint_matches(const Graph& g, TryMatch&& try_match) {
  std::vector<Match> matches;
  std::vector<bool> claimed(g.num_nodes(), false);
  for (NodeId id = 0; id < static_cast<NodeId>(g.num_nodes()); ++id) {
    Match m;
    if (!try_match(id, m)) continue;
    bool free = true;
    for (NodeId f : m.fused) free = free && !claimed[f];
    if (!free) continue;
    for (NodeId f : m.fused) claimed[f] = true;
    matches.push_back(std::move(m));
  }
  return matches;
}

}  // namespace sparsert::passes
