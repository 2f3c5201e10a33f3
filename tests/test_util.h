// Test helpers: .npy reading, ORT oracle cases (tests/oracle/oracle.py), tolerance checks.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/tensor.h"
#include "runtime/session.h"

namespace sparsert::testing {

// Where tests/models/generate.py wrote the models (SPARSERT_MODELS_DIR env or the CMake default).
std::string models_dir();

StatusOr<Tensor> read_npy(const std::string& path);

struct OracleCase {
  std::vector<NamedTensor> inputs;
  std::vector<NamedTensor> outputs;
};
StatusOr<OracleCase> read_case(const std::string& case_dir);

struct ManifestEntry {
  std::string model;     // absolute path
  std::string case_dir;  // absolute path
  double tolerance;
  // Where > 0, each float output's cosine similarity with the oracle's must reach it too
  // (the manifest's optional 4th column: the int8 BERT-base cases, whose rounding flips
  // move single elements by quantization steps, are judged as functions).
  double min_cosine = 0;
  std::string name;      // model path relative to models_dir(), for test names
};
std::vector<ManifestEntry> read_manifest();
// gtest prints parameters with this (otherwise it dumps raw bytes).
inline void PrintTo(const ManifestEntry& e, std::ostream* os) { *os << e.name; }

// Empty string when `got` matches `want`: exact for integers/bools; for floats
// max |got - want| <= tol * max(1, max |want|) (error relative to output scale)
// and, where min_cosine > 0, cosine(got, want) >= min_cosine.
std::string compare_tensors(const Tensor& got, const Tensor& want, double tol, double min_cosine = 0);

}  // namespace sparsert::testing
