// Every generated model (op-family graphs, tiny BERT and convnet at opsets 13
// and 17, pruned variants) against ONNX Runtime's outputs on the same inputs,
// both with the pass pipeline and as the unoptimized reference plan.
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace sparsert {
namespace {

using testing::ManifestEntry;

class OracleTest : public ::testing::TestWithParam<ManifestEntry> {};

void run_and_compare(const ManifestEntry& e, int opt_level, int threads) {
  SessionOptions opts;
  opts.optimization_level = opt_level;
  opts.threads = threads;
  opts.check_inferred_shapes = true;  // every inferred type must match what the kernels produce
  auto session = Session::Create(e.model, opts);
  ASSERT_TRUE(session.ok()) << session.status().to_string();
  auto c = testing::read_case(e.case_dir);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  // The first run records the memory pattern; the second runs on the arena it planned.
  for (int run = 0; run < 2; ++run) {
    auto outputs = (*session)->Run(c->inputs);
    ASSERT_TRUE(outputs.ok()) << outputs.status().to_string();
    ASSERT_EQ(outputs->size(), c->outputs.size());
    for (size_t i = 0; i < outputs->size(); ++i) {
      EXPECT_EQ((*outputs)[i].name, c->outputs[i].name);
      std::string diff = testing::compare_tensors((*outputs)[i].tensor, c->outputs[i].tensor, e.tolerance);
      EXPECT_EQ(diff, "") << "output '" << c->outputs[i].name << "' of " << e.name << " (opt level " << opt_level
                          << ", run " << run << ")";
    }
  }
  EXPECT_NE((*session)->memory_summary(), "");
}

TEST_P(OracleTest, optimized_matches_onnxruntime) { run_and_compare(GetParam(), 99, 2); }
TEST_P(OracleTest, reference_plan_matches_onnxruntime) { run_and_compare(GetParam(), 0, 1); }

std::string case_name(const ::testing::TestParamInfo<ManifestEntry>& info) {
  std::string s = info.param.name.substr(0, info.param.name.size() - 5);  // drop .onnx
  for (char& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(GeneratedModels, OracleTest, ::testing::ValuesIn(testing::read_manifest()), case_name);

TEST(OracleManifest, has_the_generated_models) {
  // Guards against an empty manifest silently running zero cases above.
  auto entries = testing::read_manifest();
  EXPECT_GE(entries.size(), 20u) << "run tests/models/generate.py (models dir: " << testing::models_dir() << ")";
}

}  // namespace
}  // namespace sparsert
