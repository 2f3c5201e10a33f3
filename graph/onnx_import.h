// ONNX -> Graph. Reads ModelProto (from a file or bytes), converts initializers
// without a second copy (raw_data is moved; external data is mmapped and confined
// to the model's directory), turns Constant nodes into constants, and normalizes
// opset differences where attributes became inputs so kernels see one form.
// Every failure is a Status naming the file, node, op and what is wrong.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace sparsert {

// external_files (optional) receives the resolved paths of the external data
// files the model's tensors were read from.
StatusOr<Graph> import_onnx_file(const std::string& path, std::vector<std::string>* external_files = nullptr);
// `model_dir` is where external data files are looked up; empty: external data is an error.
StatusOr<Graph> import_onnx_bytes(const void* data, size_t size, const std::string& model_dir = "",
                                  std::vector<std::string>* external_files = nullptr);

}  // namespace sparsert
