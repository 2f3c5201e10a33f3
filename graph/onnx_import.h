// ONNX -> Graph. Reads ModelProto (from a file or bytes), converts initializers
// without a second copy (raw_data is moved; external data is mmapped and confined
// to the model's directory), turns Constant nodes into constants, and normalizes
// opset differences where attributes became inputs so kernels see one form.
// Every failure is a Status naming the file, node, op and what is wrong.
#pragma once

#include <string>

#include "base/status.h"
#include "graph/graph.h"

namespace sparsert {

StatusOr<Graph> import_onnx_file(const std::string& path);
// `model_dir` is where external data files are looked up; empty: external data is an error.
StatusOr<Graph> import_onnx_bytes(const void* data, size_t size, const std::string& model_dir = "");

}  // namespace sparsert
