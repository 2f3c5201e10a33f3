// The smallest sparsert program: load a model, run it on random inputs, print output shapes.
//   hello model.onnx
#include <cstdio>

#include "sparsert.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
    return 2;
  }
  auto session = sparsert::Session::Create(argv[1]);
  if (!session.ok()) {
    std::fprintf(stderr, "error: %s\n", session.status().to_string().c_str());
    return 1;
  }
  auto inputs = (*session)->RandomInputs();
  if (!inputs.ok()) {
    std::fprintf(stderr, "error: %s\n", inputs.status().to_string().c_str());
    return 1;
  }
  auto outputs = (*session)->Run(*inputs);
  if (!outputs.ok()) {
    std::fprintf(stderr, "error: %s\n", outputs.status().to_string().c_str());
    return 1;
  }
  for (const auto& out : *outputs) std::printf("%s: %s\n", out.name.c_str(), out.tensor.type_string().c_str());
  return 0;
}
