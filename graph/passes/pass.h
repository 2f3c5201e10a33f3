// What every pass gets: options and a log of what each pass changed.
// A pass is `Status run_<name>(Graph&, PassContext&)` in its own file; the
// order lives only in pipeline.cc.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "ops/sparse/sparse_cost_model.h"

namespace sparsert::passes {

struct PassContext {
  std::set<std::string> disabled;  // pass names to skip (--disable-pass=)
  bool verbose = false;            // print "pass X modified=N" to stderr
  // Filled by the pipeline: one line per pass run, "constant_folding modified=12".
  std::vector<std::string> log;
  // Constant folding refuses to materialize outputs larger than this.
  size_t max_folded_bytes = size_t{64} << 20;
  // Lowering passes that only pay off on the sparse kernels ask the same cost
  // model the kernels do, under the session's policy and ISA cap.
  SparsePolicy sparse;
  uint32_t isa_cap = 0;
  // nchwc_layout's channel block: 0 = by isa_cap, else forced.
  int nchwc_block = 0;
  // quantize_dynamic: "" / "none" or "dynamic-int8" (SessionOptions::quantize).
  std::string quantize;
};

}  // namespace sparsert::passes
