// NumPy .npy files (format versions 1-3, C order, little-endian) for
// sparse_run's --input NAME=FILE.npy and --output DIR.
#pragma once

#include <string>

#include "include/sparsert/sparsert.h"

namespace sparsert::npy {

// Reads a C-order little-endian array of a dtype tensors can hold (float32/64,
// float16, [u]int8/16/32/64, bool); errors name the file and what is wrong.
StatusOr<Tensor> read(const std::string& path);
// Writes `t` as a version 1.0 .npy file.
Status write(const std::string& path, const Tensor& t);

}  // namespace sparsert::npy
