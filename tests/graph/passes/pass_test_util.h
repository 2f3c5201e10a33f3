// Runs a model before and after a pass (via sessions at opt level 0 and with
// only that pass enabled) and compares outputs; passes tests check structure.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "graph/onnx_import.h"
#include "graph/passes/pass.h"
#include "graph/passes/shape_inference.h"
#include "runtime/session.h"
#include "tests/test_util.h"

namespace sparsert::testing {

// tol: allowed max abs difference relative to output scale (0: bit-identical).
inline void expect_same_outputs(const std::string& model_bytes, const std::vector<NamedTensor>& inputs,
                                double tol = 0.0) {
  SessionOptions ref_opts, opt_opts;
  ref_opts.optimization_level = 0;
  auto ref = Session::CreateFromBytes(model_bytes.data(), model_bytes.size(), ref_opts);
  auto opt = Session::CreateFromBytes(model_bytes.data(), model_bytes.size(), opt_opts);
  ASSERT_TRUE(ref.ok()) << ref.status().to_string();
  ASSERT_TRUE(opt.ok()) << opt.status().to_string();
  auto a = (*ref)->Run(inputs);
  auto b = (*opt)->Run(inputs);
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) EXPECT_EQ(compare_tensors((*b)[i].tensor, (*a)[i].tensor, tol), "") << i;
}

// Imports a model, infers its types and runs one pass on it (what the passes
// see in the pipeline); *count gets the pass's result.
inline StatusOr<Graph> import_and_run(const std::string& bytes, StatusOr<int> (*pass)(Graph&, passes::PassContext&),
                                      int* count) {
  SPARSERT_ASSIGN_OR_RETURN(Graph g, import_onnx_bytes(bytes.data(), bytes.size()));
  passes::PassContext ctx;
  SPARSERT_RETURN_IF_ERROR(passes::run_shape_inference(g, ctx).status());
  SPARSERT_ASSIGN_OR_RETURN(*count, pass(g, ctx));
  return g;
}

inline int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes()) n += node.op_type == op;
  return n;
}

}  // namespace sparsert::testing
