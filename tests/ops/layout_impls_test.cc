// fast_transpose_f32 (last two axes), fast_transpose_rows (last axis kept)
// and fast_layer_norm_f32 (last axis)
// against the reference plan, on odd sizes (8x8 block tails) and empty dims.
#include <gtest/gtest.h>

#include <random>

#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

std::string transpose_model(std::vector<int64_t> shape, std::vector<int64_t> perm) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, shape).output("y");
  auto& n = b.node("Transpose", {"x"}, {"y"}, "t");
  auto* a = n.add_attribute();
  a->set_name("perm");
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t p : perm) a->add_ints(p);
  return b.bytes();
}

TEST(FastTranspose, last_two_axes_with_block_tails) {
  std::mt19937 rng(1);
  const std::vector<std::vector<int64_t>> shapes = {{2, 3, 17, 9}, {1, 12, 128, 64}, {5, 8}, {3, 1, 7}, {2, 0, 4}};
  for (const auto& s : shapes) {
    std::vector<int64_t> perm(s.size());
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
    std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
    auto r = testing::compare_with_reference(transpose_model(s, perm),
                                             {{"x", Tensor::from_vector<float>(s, testing::randn(testing::numel(s), rng))}},
                                             0.0);
    EXPECT_EQ(r.kernels, "fast_transpose_f32 x1") << shape_to_string(s);
  }
  // [B,S,H,D] -> [B,H,D,S] (K^T as PyTorch exports it) and a rank-3 variant.
  for (const auto& [s, perm] : std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>{
           {{2, 19, 3, 10}, {0, 2, 3, 1}}, {{1, 128, 12, 64}, {0, 2, 3, 1}}, {{5, 6, 7}, {1, 2, 0}}}) {
    auto r = testing::compare_with_reference(transpose_model(s, perm),
                                             {{"x", Tensor::from_vector<float>(s, testing::randn(testing::numel(s), rng))}},
                                             0.0);
    EXPECT_EQ(r.kernels, "fast_transpose_f32 x1") << shape_to_string(s);
  }
  // Other permutations stay on the reference, and say why.
  auto r = testing::compare_with_reference(transpose_model({2, 3, 4}, {2, 0, 1}),
                                           {{"x", Tensor::from_vector<float>({2, 3, 4}, testing::randn(24, rng))}}, 0.0);
  EXPECT_EQ(r.kernels, "reference x1");
  EXPECT_NE(r.report[0].find("does not move the last axis to second-to-last"), std::string::npos) << r.report[0];
  EXPECT_NE(r.report[0].find("fast_transpose_rows: perm moves the last axis"), std::string::npos) << r.report[0];
}

TEST(FastTranspose, permutations_keeping_the_last_axis_copy_rows) {
  std::mt19937 rng(3);
  // Attention's head split / merge, odd sizes, a rank-5 shuffle, a size-1 axis, an empty dim, identity.
  for (const auto& [s, perm] : std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>>{
           {{1, 128, 12, 64}, {0, 2, 1, 3}}, {{2, 7, 3, 5}, {0, 2, 1, 3}}, {{2, 3, 4}, {1, 0, 2}},
           {{3, 2, 5, 4, 3}, {3, 1, 0, 2, 4}}, {{4, 1, 3, 2}, {2, 0, 1, 3}}, {{2, 0, 4}, {1, 0, 2}},
           {{3, 5}, {0, 1}}}) {
    auto r = testing::compare_with_reference(transpose_model(s, perm),
                                             {{"x", Tensor::from_vector<float>(s, testing::randn(testing::numel(s), rng))}},
                                             0.0);
    EXPECT_EQ(r.kernels, "fast_transpose_rows x1") << shape_to_string(s);
  }
  // Any element type: int64 indices through the same copy.
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::INT64, {3, 4, 2}).output("y", onnx::TensorProto::INT64);
  auto& n = b.node("Transpose", {"x"}, {"y"}, "t");
  OnnxBuilder::ints_attr(n, "perm", {1, 0, 2});
  std::vector<int64_t> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(i * 7919 % 101);
  auto r = testing::compare_with_reference(b.bytes(), {{"x", Tensor::from_vector<int64_t>({3, 4, 2}, v)}}, 0.0);
  EXPECT_EQ(r.kernels, "fast_transpose_rows x1");
}

TEST(FastLayerNorm, last_axis_rows) {
  std::mt19937 rng(2);
  for (int64_t w : {1, 7, 64, 768}) {
    OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {3, 5, w}).output("y");
    b.initializer("scale", {w}, testing::randn(w, rng));
    b.initializer("bias", {w}, testing::randn(w, rng));
    b.node("LayerNormalization", {"x", "scale", "bias"}, {"y"}, "ln");
    std::vector<float> x = testing::randn(15 * w, rng);
    for (float& v : x) v = 3.f + 10.f * v;  // an offset mean, as residual streams have
    auto r = testing::compare_with_reference(b.bytes(), {{"x", Tensor::from_vector<float>({3, 5, w}, x)}}, 1e-5);
    EXPECT_EQ(r.kernels, "fast_layer_norm_f32 x1") << w;
  }
}

}  // namespace
}  // namespace sparsert

namespace sparsert {
namespace {

TEST(FastMaxPool, matches_the_reference_on_pads_strides_dilations_and_ceil_mode) {
  std::mt19937 rng(3);
  struct Case {
    std::vector<int64_t> shape, kernel, strides, pads, dilations;
    int64_t ceil_mode;
  };
  const Case cases[] = {
      {{1, 3, 112, 112}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},  // ResNet's stem pool
      {{2, 2, 9, 7}, {2, 3}, {1, 2}, {0, 1, 1, 0}, {1, 1}, 1},
      {{1, 4, 10, 11}, {3, 3}, {2, 1}, {2, 2, 2, 2}, {2, 1}, 0},
      {{2, 3, 17}, {4}, {3}, {1, 2}, {1}, 1},  // 1-D
  };
  for (const Case& c : cases) {
    testing::OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, c.shape).output("y");
    auto& n = b.node("MaxPool", {"x"}, {"y"}, "pool");
    auto ints = [&](const char* name, const std::vector<int64_t>& v) {
      auto* a = n.add_attribute();
      a->set_name(name);
      a->set_type(onnx::AttributeProto::INTS);
      for (int64_t i : v) a->add_ints(i);
    };
    ints("kernel_shape", c.kernel);
    ints("strides", c.strides);
    ints("pads", c.pads);
    ints("dilations", c.dilations);
    testing::OnnxBuilder::int_attr(n, "ceil_mode", c.ceil_mode);
    auto r = testing::compare_with_reference(
        b.bytes(), {{"x", Tensor::from_vector<float>(c.shape, testing::randn(testing::numel(c.shape), rng))}}, 0.0);
    EXPECT_EQ(r.kernels, "fast_max_pool_f32 x1") << shape_to_string(c.shape);
  }
}

}  // namespace
}  // namespace sparsert
