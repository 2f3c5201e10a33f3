// NumPy .npy files (format versions 1-3, C order, little-endian) and .npz
// archives (np.savez, np.savez_compressed) for sparse_run's --input
// NAME=FILE.npy / FILE.npz / DIR and --output DIR.
#pragma once

#include <istream>
#include <string>
#include <utility>
#include <vector>

#include "include/sparsert/sparsert.h"

namespace sparsert::npy {

// Reads a C-order little-endian array of a dtype tensors can hold (float32/64,
// float16, [u]int8/16/32/64, bool); errors name the file and what is wrong.
StatusOr<Tensor> read(const std::string& path);
// The same from a stream; `what` names it in errors.
StatusOr<Tensor> read_stream(std::istream& in, const std::string& what);
// Every array of an .npz archive with its name (the member name without ".npy").
StatusOr<std::vector<std::pair<std::string, Tensor>>> read_npz(const std::string& path);
// A tensor name as a file name (names may hold '/', ':' ...): every character
// but [A-Za-z0-9_.-] becomes '_'. --output writes and --input DIR reads these.
std::string file_stem(const std::string& tensor_name);
// Writes `t` as a version 1.0 .npy file.
Status write(const std::string& path, const Tensor& t);

}  // namespace sparsert::npy
