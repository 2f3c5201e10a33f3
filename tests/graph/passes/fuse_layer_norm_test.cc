// fuse_layer_norm: the decomposed LayerNorm of opset < 17 exports becomes one
// LayerNormalization (structure), gives the unfused graph's outputs, and
// chains that are not a LayerNorm over the last axis stay.
#include "graph/passes/fuse_layer_norm.h"

#include <random>

#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

constexpr int64_t C = 7;

struct Decomposed {
  bool gamma = true, beta = true;
  bool gamma_first = false;       // Mul(gamma, n) instead of Mul(n, gamma)
  int64_t axis = -1;              // ReduceMean axes (2 = the last axis of [batch, seq, C])
  float exponent = 2.f;
  bool centered_is_output = false;
};

// x [batch, seq, C] -> mean -> x - mean -> ^2 -> mean -> + eps -> sqrt -> divide [-> * gamma] [-> + beta].
std::string model(const Decomposed& d) {
  std::mt19937 rng(3);
  OnnxBuilder b(13);
  b.input("x", onnx::TensorProto::FLOAT, {-1, -1, C}, {"batch", "seq"}).output("y");
  b.initializer("two", {}, {d.exponent});
  b.initializer("eps", {}, {1e-12f});
  b.initializer("gamma", {C}, testing::randn(C, rng));
  b.initializer("beta", {C}, testing::randn(C, rng));
  OnnxBuilder::ints_attr(b.node("ReduceMean", {"x"}, {"mean"}, "mean"), "axes", {d.axis});
  b.node("Sub", {"x", "mean"}, {"d"}, "sub");
  b.node("Pow", {"d", "two"}, {"sq"}, "pow");
  OnnxBuilder::ints_attr(b.node("ReduceMean", {"sq"}, {"var"}, "var"), "axes", {d.axis});
  b.node("Add", {"var", "eps"}, {"ve"}, "add_eps");
  b.node("Sqrt", {"ve"}, {"std"}, "sqrt");
  std::string cur = "n";
  b.node("Div", {"d", "std"}, {cur}, "div");
  if (d.gamma) {
    b.node("Mul", d.gamma_first ? std::vector<std::string>{"gamma", cur} : std::vector<std::string>{cur, "gamma"},
           {"scaled"}, "mul_gamma");
    cur = "scaled";
  }
  if (d.beta) b.node("Add", {cur, "beta"}, {"y"}, "add_beta");
  else b.node("Identity", {cur}, {"y"}, "out");
  if (d.centered_is_output) b.output("d");
  return b.bytes();
}

std::vector<NamedTensor> inputs(int64_t batch, int64_t seq) {
  std::mt19937 rng(static_cast<unsigned>(batch * 31 + seq));
  std::vector<float> x = testing::randn(batch * seq * C, rng);
  for (float& v : x) v = 3.f * v + 1.5f;  // an offset mean and a spread the norm must undo
  return {{"x", Tensor::from_vector<float>({batch, seq, C}, x)}};
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes())
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(FuseLayerNorm, decomposed_chain_becomes_one_layer_norm) {
  for (bool gamma_first : {false, true}) {
    const std::string bytes = model({.gamma_first = gamma_first});
    int count = 0;
    auto g = testing::import_and_run(bytes, passes::run_fuse_layer_norm, &count);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(count, 1);
    const Node* ln = find_op(*g, "LayerNormalization");
    ASSERT_NE(ln, nullptr);
    ASSERT_EQ(ln->inputs.size(), 3u);
    EXPECT_EQ(g->value(ln->inputs[0]).name, "x");
    EXPECT_EQ(g->value(ln->outputs[0]).name, "y");
    EXPECT_FLOAT_EQ(*ln->attrs.get_float("epsilon"), 1e-12f);
    EXPECT_EQ(find_op(*g, "ReduceMean"), nullptr);
    EXPECT_EQ(find_op(*g, "Sqrt"), nullptr);
    for (auto [batch, seq] : {std::pair<int64_t, int64_t>{1, 1}, {2, 5}, {3, 17}})
      testing::expect_same_outputs(bytes, inputs(batch, seq), 1e-5);
  }
}

TEST(FuseLayerNorm, without_beta_or_gamma) {
  for (Decomposed d : {Decomposed{.beta = false}, Decomposed{.gamma = false, .beta = false}}) {
    const std::string bytes = model(d);
    int count = 0;
    auto g = testing::import_and_run(bytes, passes::run_fuse_layer_norm, &count);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(count, 1);
    const Node* ln = find_op(*g, "LayerNormalization");
    ASSERT_NE(ln, nullptr);
    EXPECT_EQ(ln->inputs.size(), 2u) << "no bias";
    testing::expect_same_outputs(bytes, inputs(2, 5), 1e-5);
  }
}

TEST(FuseLayerNorm, other_chains_stay) {
  int count = 0;
  // A mean over another axis, a cube, or a centered value read elsewhere: not (only) a LayerNorm.
  for (Decomposed d : {Decomposed{.axis = 1}, Decomposed{.exponent = 3.f}, Decomposed{.centered_is_output = true}}) {
    const std::string bytes = model(d);
    auto g = testing::import_and_run(bytes, passes::run_fuse_layer_norm, &count);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(count, 0);
    EXPECT_EQ(find_op(*g, "LayerNormalization"), nullptr);
    testing::expect_same_outputs(bytes, inputs(2, 5), 1e-5);
  }
  // The last axis spelled as a positive index fuses.
  auto g = testing::import_and_run(model({.axis = 2}), passes::run_fuse_layer_norm, &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 1);
}

}  // namespace
}  // namespace sparsert
