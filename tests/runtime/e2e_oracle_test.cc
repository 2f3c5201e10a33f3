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
      std::string diff = testing::compare_tensors((*outputs)[i].tensor, c->outputs[i].tensor, e.tolerance,
                                                 e.min_cosine);
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

TEST(OracleManifest, compare_tensors_judges_by_max_abs_error_and_cosine) {
  const Tensor want = Tensor::from_vector<float>({4}, {2.f, -1.f, 0.5f, 0.f});
  // 0.1 off in one element: inside a 0.06 x scale 2 bound, cosine 0.9991.
  const Tensor near = Tensor::from_vector<float>({4}, {2.f, -1.f, 0.6f, 0.f});
  EXPECT_EQ(testing::compare_tensors(near, want, 0.06), "");
  EXPECT_EQ(testing::compare_tensors(near, want, 0.06, 0.999), "");
  EXPECT_NE(testing::compare_tensors(near, want, 0.04), "");
  const std::string low = testing::compare_tensors(near, want, 0.06, 0.9995);
  EXPECT_NE(low.find("cosine similarity 0.999"), std::string::npos) << low;
  // A scaled copy has cosine 1 but fails the max-abs bound; all zeros against zeros agree.
  EXPECT_NE(testing::compare_tensors(Tensor::from_vector<float>({4}, {4.f, -2.f, 1.f, 0.f}), want, 0.25, 0.999), "");
  const Tensor zeros = Tensor::from_vector<float>({2}, {0.f, 0.f});
  EXPECT_EQ(testing::compare_tensors(zeros, zeros, 1e-4, 0.999), "");
  EXPECT_NE(testing::compare_tensors(zeros, Tensor::from_vector<float>({2}, {0.f, 1e-3f}), 1.0, 0.999), "");
}

TEST(OracleManifest, has_the_generated_models) {
  // Guards against an empty manifest silently running zero cases above.
  auto entries = testing::read_manifest();
  EXPECT_GE(entries.size(), 20u) << "run tests/models/generate.py (models dir: " << testing::models_dir() << ")";
}

}  // namespace
}  // namespace sparsert
