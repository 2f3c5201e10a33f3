// DynamicQuantizeLinear(y) where y comes from a com.sparsert IntegerLinear:
// the IntegerLinear also writes y's range {min(0, min y), max(0, max y)}
// (taken in the SpMM epilogue while y's rows are in L1), and the quantization
// becomes com.sparsert DynamicQuantizeLinear(y, range), which reads y once
// instead of twice (min/max, then quantize). The same outputs: min and max are
// exact in any order and NaN never enters the range, as in ONNX's op. BERT's
// FFN output (12.6 MB of float at batch 8) is what the second pass read.
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many quantizations it gave a range.
StatusOr<int> run_fuse_dynamic_quantize_range(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
