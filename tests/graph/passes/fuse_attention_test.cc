// fuse_attention: the BERT-style attention chain becomes one com.sparsert
// Attention (structure), gives the unfused graph's outputs (through the
// AVX2 and oneDNN kernels and through the Attention reference kernel), and what is not
// that chain stays as it is.
#include "graph/passes/fuse_attention.h"

#include <cmath>
#include <random>

#include "jit/isa.h"
#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

constexpr int64_t H = 3, D = 5, Dv = 4;

struct AttentionModel {
  bool mask = true;            // Add of a [batch, 1, 1, seq] mask input
  bool square_mask = false;    // ... or of a constant [seq, seq] one (static seq)
  const char* scale_op = "Div";  // "Div", "Mul" (constant first), or "" for none
  int64_t softmax_axis = -1;
  bool scores_are_output = false;
  int64_t static_seq = 0;      // > 0: static sequence length instead of a symbol
  float scale = 0.f;           // 0: sqrt(D)
};

// q, k [batch, seq, H*D], v [batch, seq, H*Dv] -> heads -> scores -> softmax -> merged [batch, seq, H*Dv].
std::string attention_model(const AttentionModel& m) {
  std::mt19937 rng(21);
  OnnxBuilder b;
  const int64_t s = m.static_seq > 0 ? m.static_seq : -1;
  b.input("q", onnx::TensorProto::FLOAT, {-1, s, H * D}, {"batch", "seq"});
  b.input("k", onnx::TensorProto::FLOAT, {-1, s, H * D}, {"batch", "seq"});
  b.input("v", onnx::TensorProto::FLOAT, {-1, s, H * Dv}, {"batch", "seq"});
  if (m.mask && !m.square_mask) b.input("mask", onnx::TensorProto::FLOAT, {-1, 1, 1, s}, {"batch", "", "", "seq"});
  if (m.square_mask) b.initializer("mask", {s, s}, testing::randn(s * s, rng));
  b.output("y");
  b.int64_initializer("split_qk", {0, 0, H, D});
  b.int64_initializer("split_v", {0, 0, H, Dv});
  b.int64_initializer("merge", {0, 0, H * Dv});
  b.initializer("c", {}, {m.scale != 0.f ? m.scale : std::sqrt(static_cast<float>(D))});
  b.node("Reshape", {"q", "split_qk"}, {"q4"}, "q_split");
  b.node("Reshape", {"k", "split_qk"}, {"k4"}, "k_split");
  b.node("Reshape", {"v", "split_v"}, {"v4"}, "v_split");
  OnnxBuilder::ints_attr(b.node("Transpose", {"q4"}, {"qh"}, "q_heads"), "perm", {0, 2, 1, 3});
  OnnxBuilder::ints_attr(b.node("Transpose", {"k4"}, {"kh"}, "k_heads"), "perm", {0, 2, 3, 1});
  OnnxBuilder::ints_attr(b.node("Transpose", {"v4"}, {"vh"}, "v_heads"), "perm", {0, 2, 1, 3});
  b.node("MatMul", {"qh", "kh"}, {"scores"}, "qk");
  std::string cur = "scores";
  if (std::string(m.scale_op) == "Div") b.node("Div", {cur, "c"}, {"scaled"}, "scale"), cur = "scaled";
  if (std::string(m.scale_op) == "Mul") b.node("Mul", {"c", cur}, {"scaled"}, "scale"), cur = "scaled";
  if (m.mask) b.node("Add", {cur, "mask"}, {"masked"}, "mask_add"), cur = "masked";
  OnnxBuilder::int_attr(b.node("Softmax", {cur}, {"probs"}, "softmax"), "axis", m.softmax_axis);
  b.node("MatMul", {"probs", "vh"}, {"ctx"}, "pv");
  OnnxBuilder::ints_attr(b.node("Transpose", {"ctx"}, {"ctx_t"}, "merge_heads"), "perm", {0, 2, 1, 3});
  b.node("Reshape", {"ctx_t", "merge"}, {"y"}, "merge");
  if (m.scores_are_output) b.output("scores");
  return b.bytes();
}

std::vector<NamedTensor> inputs(int64_t batch, int64_t seq, bool mask = true) {
  std::mt19937 rng(static_cast<unsigned>(batch * 100 + seq));
  std::vector<NamedTensor> in = {
      {"q", Tensor::from_vector<float>({batch, seq, H * D}, testing::randn(batch * seq * H * D, rng))},
      {"k", Tensor::from_vector<float>({batch, seq, H * D}, testing::randn(batch * seq * H * D, rng))},
      {"v", Tensor::from_vector<float>({batch, seq, H * Dv}, testing::randn(batch * seq * H * Dv, rng))}};
  if (mask) {
    std::vector<float> m(static_cast<size_t>(batch * seq));
    for (size_t i = 0; i < m.size(); ++i) m[i] = (i % 3 == 2) ? -10000.f : 0.f;  // padded positions
    in.push_back({"mask", Tensor::from_vector<float>({batch, 1, 1, seq}, m)});
  }
  return in;
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes())
    if (n.op_type == op) return &n;
  return nullptr;
}

StatusOr<Graph> fused(const std::string& bytes, int* count) {
  return testing::import_and_run(bytes, passes::run_fuse_attention, count);
}

// Every kernel of the fused op against the unfused graph on the reference
// kernels: the AVX2 tile kernel (where the machine has AVX2), oneDNN's, the reference.
void expect_unfused_outputs(const std::string& bytes, const std::vector<NamedTensor>& in) {
  const bool avx2 = jit::may_use(jit::kIsaAvx2, jit::default_isa_cap());
  auto fast = testing::compare_with_reference(bytes, in, 1e-5);
  EXPECT_NE(fast.kernels.find(avx2 ? "fast_attention_f32 x1" : "onednn_attention_f32 x1"), std::string::npos)
      << fast.kernels;
  SessionOptions onednn_kernel;
  onednn_kernel.disabled_kernels = {"fast_attention_f32"};
  auto onednn = testing::compare_with_reference(bytes, in, 1e-5, onednn_kernel);
  EXPECT_NE(onednn.kernels.find("onednn_attention_f32 x1"), std::string::npos) << onednn.kernels;
  SessionOptions ref_kernel;
  ref_kernel.disabled_kernels = {"fast_attention_f32", "onednn_attention_f32"};
  auto ref = testing::compare_with_reference(bytes, in, 1e-5, ref_kernel);
  EXPECT_NE(ref.kernels.find("reference x"), std::string::npos) << ref.kernels;
  EXPECT_EQ(ref.kernels.find("attention_f32"), std::string::npos) << ref.kernels;
}

TEST(FuseAttention, bert_chain_becomes_one_attention_with_symbolic_dims) {
  const std::string bytes = attention_model({});
  int count = 0;
  auto g = fused(bytes, &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 1);
  const Node* att = find_op(*g, "Attention");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(att->domain, "com.sparsert");
  ASSERT_EQ(att->inputs.size(), 4u);
  EXPECT_EQ(g->value(att->inputs[0]).name, "q");
  EXPECT_EQ(g->value(att->inputs[1]).name, "k");
  EXPECT_EQ(g->value(att->inputs[2]).name, "v");
  EXPECT_EQ(g->value(att->inputs[3]).name, "mask");
  EXPECT_EQ(g->value(att->outputs[0]).name, "y");
  EXPECT_EQ(*att->attrs.get_int("num_heads"), H);
  EXPECT_EQ(*att->attrs.get_int("divide"), 1);
  EXPECT_FLOAT_EQ(*att->attrs.get_float("scale"), std::sqrt(static_cast<float>(D)));
  for (const Node& n : g->nodes()) EXPECT_NE(n.name, "merge") << "the merge Reshape is replaced";
  for (auto [batch, seq] : {std::pair<int64_t, int64_t>{1, 1}, {2, 7}, {3, 13}, {1, 33}})
    expect_unfused_outputs(bytes, inputs(batch, seq));
}

TEST(FuseAttention, mul_scale_no_mask_and_a_square_constant_mask) {
  int count = 0;
  const std::string no_mask = attention_model({.mask = false, .scale_op = "Mul"});
  auto g = fused(no_mask, &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 1);
  const Node* att = find_op(*g, "Attention");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(att->inputs.size(), 3u);
  EXPECT_EQ(*att->attrs.get_int("divide"), 0);
  expect_unfused_outputs(no_mask, inputs(2, 9, false));

  // A [seq, seq] mask broadcasts over batch and heads (static seq).
  const std::string square = attention_model({.square_mask = true, .scale_op = "", .static_seq = 6});
  g = fused(square, &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 1);
  EXPECT_FLOAT_EQ(*find_op(*g, "Attention")->attrs.get_float("scale"), 1.f);
  expect_unfused_outputs(square, inputs(2, 6, false));
}

TEST(FuseAttention, division_by_a_power_of_two_becomes_its_exact_inverse) {
  int count = 0;
  const std::string bytes = attention_model({.scale = 8.f});
  auto g = fused(bytes, &count);
  ASSERT_TRUE(g.ok());
  const Node* att = find_op(*g, "Attention");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(*att->attrs.get_int("divide"), 0);
  EXPECT_EQ(*att->attrs.get_float("scale"), 0.125f);
  expect_unfused_outputs(bytes, inputs(2, 9));
}

TEST(FuseAttention, other_chains_stay) {
  int count = 0;
  // Softmax over the query axis is another function.
  auto g = fused(attention_model({.softmax_axis = 2}), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 0);
  // The scores are also a graph output: nothing fuses (they would be computed anyway).
  g = fused(attention_model({.scores_are_output = true}), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 0);
  EXPECT_EQ(find_op(*g, "Attention"), nullptr);
  testing::expect_same_outputs(attention_model({.scores_are_output = true}), inputs(2, 5), 1e-5);
}

TEST(FuseAttention, bad_mask_shape_is_a_named_error) {
  const std::string bytes = attention_model({});
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), {});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto in = inputs(2, 7);
  in[3].tensor = Tensor::from_vector<float>({2, 1, 1, 5}, std::vector<float>(10, 0.f));  // 5 keys, not 7
  auto r = (*s)->Run(in);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().to_string().find("mask"), std::string::npos) << r.status().to_string();
}

}  // namespace
}  // namespace sparsert
