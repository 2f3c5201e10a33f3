// Canonicalizes LayerNorm from the decomposed form exporters write at opsets
// below 17 (PyTorch, HF BERT):
//   mean = ReduceMean(x, last axis); d = Sub(x, mean); var = ReduceMean(Pow(d, 2))
//   y = Div(d, Sqrt(Add(var, eps))) [* gamma] [+ beta]
// into one LayerNormalization(x, gamma, beta; axis -1, epsilon eps), which the
// fast row kernel runs in one pass per row (the unfused chain was 10 nodes per
// norm on reference kernels: BERT-base at opset 13 ran 339 ms against 270 at 17).
// gamma and beta must be constants of the last dim's size; intermediate
// values with other readers, or that are graph outputs, stop the match.
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many LayerNormalization nodes it wrote.
StatusOr<int> run_fuse_layer_norm(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
