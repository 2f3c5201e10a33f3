// sparse_run prune: magnitude pruning of an ONNX model's MatMul / Gemm / Conv
// weights, so anyone can try the sparse kernels on their own model. The same
// conventions as tests/models/prune.py: each weight seen as W[N, K] (output x
// input channels); unstructured, 4x1 (4 output channels x 1 input channel) or
// 1x4 blocks; the lowest-L2 blocks are zeroed so exactly
// floor(sparsity * blocks) of each tensor's blocks are zero; a partial block
// at a ragged edge is a block of its own.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace sparsert::prune {

struct Options {
  double sparsity = 0.9;              // in [0, 1)
  std::string pattern = "unstructured";  // unstructured | 4x1 | 1x4
  std::vector<std::string> ops = {"MatMul", "Gemm", "Conv"};
};

struct Pruned {
  std::string name, op;
  std::vector<int64_t> shape;
  double sparsity = 0;  // fraction of zero values after pruning
};

// Reads `in`, prunes float weights (initializers in the file), writes `out`.
StatusOr<std::vector<Pruned>> prune_file(const std::string& in, const std::string& out, const Options& options);

}  // namespace sparsert::prune
