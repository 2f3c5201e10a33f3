// oneDNN MatMul/Gemm implementations against the reference kernel: random odd
// shapes (tails), ranks 1-4, batch broadcasting, Gemm transposes and bias, and
// the declines (with their reasons) for cases the fast path does not fuse.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "jit/isa.h"
#include "runtime/session.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::numel;
using testing::OnnxBuilder;
using testing::randn;

testing::ImplRun compare(const std::string& bytes, const std::vector<NamedTensor>& inputs) {
  return testing::compare_with_reference(bytes, inputs);
}

TEST(OnednnMatmul, constant_weight_linear_random_shapes) {
  std::mt19937 rng(1);
  std::uniform_int_distribution<int> dim(1, 37);
  for (int trial = 0; trial < 12; ++trial) {
    const int64_t K = dim(rng), N = dim(rng);
    std::vector<int64_t> a_shape;
    const int rank = 1 + trial % 4;  // 1-D A (vector) up to 4-D activations
    for (int r = 0; r < rank - 1; ++r) a_shape.push_back(dim(rng) % 5 + 1);
    a_shape.push_back(K);
    OnnxBuilder b;
    b.input("a", onnx::TensorProto::FLOAT, a_shape).output("y");
    b.initializer("w", {K, N}, randn(K * N, rng));
    b.node("MatMul", {"a", "w"}, {"y"}, "linear");
    auto r = compare(b.bytes(), {{"a", Tensor::from_vector<float>(a_shape, randn(numel(a_shape), rng))}});
    EXPECT_EQ(r.kernels, "onednn_linear_f32 x1") << "K=" << K << " N=" << N;
  }
}

TEST(OnednnMatmul, batched_runtime_operands_with_broadcast) {
  std::mt19937 rng(2);
  struct S { std::vector<int64_t> a, b; const char* kernel; };
  const S cases[] = {
      {{2, 3, 5, 7}, {2, 3, 7, 4}, "onednn_matmul_f32 x1"},   // attention shapes
      {{2, 3, 5, 7}, {1, 1, 7, 9}, "onednn_matmul_f32 x1"},   // B broadcast over batch
      {{3, 1, 2}, {3, 2, 1}, "onednn_matmul_f32 x1"},         // M=1, N=1
      {{1, 3, 5, 7}, {2, 3, 7, 4}, "onednn_matmul_f32 x1"},   // A broadcast: kernel falls back to reference
      {{4, 6}, {6, 3}, "onednn_matmul_f32 x1"},               // 2-D
  };
  for (const S& c : cases) {
    OnnxBuilder b;
    b.input("a", onnx::TensorProto::FLOAT, c.a).input("b", onnx::TensorProto::FLOAT, c.b).output("y");
    b.node("MatMul", {"a", "b"}, {"y"}, "bmm");
    auto r = compare(b.bytes(), {{"a", Tensor::from_vector<float>(c.a, randn(numel(c.a), rng))},
                                 {"b", Tensor::from_vector<float>(c.b, randn(numel(c.b), rng))}});
    EXPECT_EQ(r.kernels, c.kernel);
  }
}

void gemm_case(bool trans_b, const std::vector<int64_t>& c_shape, float alpha, float beta, const char* want_kernel,
               const char* want_reason = nullptr) {
  std::mt19937 rng(3);
  const int64_t M = 9, K = 13, N = 11;
  OnnxBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {M, K}).output("y");
  if (trans_b) b.initializer("w", {N, K}, randn(N * K, rng));
  else b.initializer("w", {K, N}, randn(K * N, rng));
  std::vector<std::string> ins = {"a", "w"};
  if (!c_shape.empty()) {
    b.initializer("c", c_shape, randn(numel(c_shape), rng));
    ins.push_back("c");
  }
  auto& node = b.node("Gemm", ins, {"y"}, "gemm");
  OnnxBuilder::int_attr(node, "transB", trans_b ? 1 : 0);
  for (auto [name, v] : {std::pair<const char*, float>{"alpha", alpha}, {"beta", beta}}) {
    auto* a = node.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  auto r = compare(b.bytes(), {{"a", Tensor::from_vector<float>({M, K}, randn(M * K, rng))}});
  EXPECT_EQ(r.kernels, want_kernel);
  if (want_reason) {
    ASSERT_EQ(r.report.size(), 1u);
    EXPECT_NE(r.report[0].find(want_reason), std::string::npos) << r.report[0];
  }
}

TEST(OnednnGemm, fuses_bias_and_transposes) {
  gemm_case(true, {11}, 1.f, 1.f, "onednn_linear_f32 x1");
  gemm_case(false, {1, 11}, 1.f, 1.f, "onednn_linear_f32 x1");
  gemm_case(true, {}, 1.f, 1.f, "onednn_linear_f32 x1");
}

TEST(OnednnGemm, declines_what_it_does_not_fuse_and_says_why) {
  gemm_case(true, {9, 11}, 1.f, 1.f, "reference x1", "onednn_linear_f32: C is float[9,11]");
  gemm_case(true, {11}, 0.5f, 1.f, "reference x1", "onednn_linear_f32: alpha=0.5");
  gemm_case(false, {11}, 1.f, 2.f, "reference x1", "onednn_linear_f32: beta=2");
}

TEST(OnednnMatmul, dynamic_m_reuses_the_kernel_across_shapes) {
  std::mt19937 rng(4);
  OnnxBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {-1, 16}, {"rows"}).output("y");
  b.initializer("w", {16, 24}, randn(16 * 24, rng));
  b.node("MatMul", {"a", "w"}, {"y"}, "linear");
  std::string bytes = b.bytes();
  for (int64_t m : {1, 7, 64, 7, 0}) {
    auto r = compare(bytes, {{"a", Tensor::from_vector<float>({m, 16}, randn(m * 16, rng))}});
    EXPECT_EQ(r.kernels, "onednn_linear_f32 x1");
  }
}

// GPT-2's MLP up-projection: MatMul + bias + GELU's tanh form (+ a residual)
// runs on fast_linear_f32 (oneDNN's gelu_tanh post-op is slow) and matches the
// unfused reference graph; the erf form stays on oneDNN.
TEST(FastLinear, tanh_gelu_linear_matches_the_reference) {
  if (!jit::may_use(jit::kIsaAvx2, jit::default_isa_cap())) GTEST_SKIP() << "no AVX2 on this machine";
  std::mt19937 rng(12);
  for (bool residual : {false, true}) {
    const int64_t K = 29, N = 37;
    OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).output("y");
    if (residual) b.input("r", onnx::TensorProto::FLOAT, {-1, N}, {"seq"});
    b.initializer("w", {K, N}, randn(K * N, rng));
    b.initializer("bias", {N}, randn(N, rng));
    b.node("MatMul", {"x", "w"}, {"mm"}, "c_fc");
    b.node("Add", {"mm", "bias"}, {"h"}, "bias_add");
    testing::add_gelu_tanh(b, "h", residual ? "g" : "y");
    if (residual) b.node("Add", {"g", "r"}, {"y"}, "residual");
    for (int64_t seq : {1, 7, 40}) {
      std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({seq, K}, randn(seq * K, rng))}};
      if (residual) in.push_back({"r", Tensor::from_vector<float>({seq, N}, randn(seq * N, rng))});
      auto r = compare(b.bytes(), in);
      EXPECT_NE(r.kernels.find("fast_linear_f32 x1"), std::string::npos) << r.kernels;
    }
  }
}

}  // namespace
}  // namespace sparsert
