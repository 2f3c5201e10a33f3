// fuse_attention: the BERT-style attention chain becomes one com.sparsert
// Attention (structure), gives the unfused graph's outputs (through the
// AVX2 and oneDNN kernels and through the Attention reference kernel), and what is not
// that chain stays as it is.
#include "graph/passes/fuse_attention.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "graph/passes/fuse_qdq.h"
#include "jit/isa.h"
#include "ops/attention.h"
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
  bool qdq = false;            // Q/DQ pairs after both MatMuls, the scale, the mask Add and the Softmax
  bool causal = false;         // GPT-2's Where(keep [seq, seq] bool input, scores, finfo.min) after the scale
};

void add_qdq(OnnxBuilder& b, const std::string& in, const std::string& out, float scale, int zp) {
  b.initializer(out + "_s", {}, {scale});
  b.raw_initializer(out + "_z", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(zp)));
  b.node("QuantizeLinear", {in, out + "_s", out + "_z"}, {out + "_q"}, out + "_quant");
  b.node("DequantizeLinear", {out + "_q", out + "_s", out + "_z"}, {out}, out + "_dequant");
}

// The pairs of the QDQ model: {scale, zero point} after qk, the scale, the mask, the softmax, pv.
constexpr float kQdq[5][2] = {{0.5f, 128}, {0.25f, 100}, {0.3f, 200}, {1.f / 64.f, 0}, {0.05f, 128}};

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
  auto pair = [&](int i) {
    if (!m.qdq) return;
    add_qdq(b, cur, cur + "_qdq", kQdq[i][0], static_cast<int>(kQdq[i][1]));
    cur += "_qdq";
  };
  pair(0);
  if (std::string(m.scale_op) == "Div") b.node("Div", {cur, "c"}, {"scaled"}, "scale"), cur = "scaled", pair(1);
  if (std::string(m.scale_op) == "Mul") b.node("Mul", {"c", cur}, {"scaled"}, "scale"), cur = "scaled", pair(1);
  if (m.causal) {
    b.input("keep", onnx::TensorProto::BOOL, {s, s}, {"seq", "seq"});
    b.initializer("fill", {}, {-3.4028234663852886e38f});
    b.node("Where", {"keep", cur, "fill"}, {"kept"}, "causal"), cur = "kept";
  }
  if (m.mask && m.qdq) {  // a Q/DQ'd mask as the first operand: both sides of the Add are pair outputs
    add_qdq(b, "mask", "mask_qdq", 100.f, 128);
    b.node("Add", {"mask_qdq", cur}, {"masked"}, "mask_add"), cur = "masked", pair(2);
  } else if (m.mask) {
    b.node("Add", {cur, "mask"}, {"masked"}, "mask_add"), cur = "masked";
  }
  OnnxBuilder::int_attr(b.node("Softmax", {cur}, {"probs"}, "softmax"), "axis", m.softmax_axis);
  cur = "probs";
  pair(3);
  b.node("MatMul", {cur, "vh"}, {"ctx"}, "pv");
  cur = "ctx";
  pair(4);
  OnnxBuilder::ints_attr(b.node("Transpose", {cur}, {"ctx_t"}, "merge_heads"), "perm", {0, 2, 1, 3});
  b.node("Reshape", {"ctx_t", "merge"}, {"y"}, "merge");
  if (m.scores_are_output) b.output("scores");
  return b.bytes();
}

// integer_qk: q and k small integers, so the scores are exact in any summation order.
std::vector<NamedTensor> inputs(int64_t batch, int64_t seq, bool mask = true, bool integer_qk = false,
                                bool causal = false) {
  std::mt19937 rng(static_cast<unsigned>(batch * 100 + seq));
  auto qk = [&] {
    std::vector<float> x = testing::randn(batch * seq * H * D, rng);
    if (integer_qk)
      for (float& v : x) v = std::nearbyint(std::clamp(v, -2.f, 2.f));
    return x;
  };
  std::vector<NamedTensor> in = {
      {"q", Tensor::from_vector<float>({batch, seq, H * D}, qk())},
      {"k", Tensor::from_vector<float>({batch, seq, H * D}, qk())},
      {"v", Tensor::from_vector<float>({batch, seq, H * Dv}, testing::randn(batch * seq * H * Dv, rng))}};
  if (mask) {
    std::vector<float> m(static_cast<size_t>(batch * seq));
    for (size_t i = 0; i < m.size(); ++i) m[i] = (i % 3 == 2) ? -10000.f : 0.f;  // padded positions
    in.push_back({"mask", Tensor::from_vector<float>({batch, 1, 1, seq}, m)});
  }
  if (causal) {
    std::vector<bool> keep(static_cast<size_t>(seq * seq));
    for (int64_t i = 0; i < seq; ++i)
      for (int64_t j = 0; j <= i; ++j) keep[static_cast<size_t>(i * seq + j)] = true;
    in.push_back({"keep", Tensor::from_vector<bool>({seq, seq}, keep)});
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

// The graph after `pass` and the one Attention it wrote (null, with a test
// failure, when it did not write exactly one).
struct OneAttention {
  StatusOr<Graph> g;
  const Node* att = nullptr;
};
OneAttention fuse_one(const std::string& bytes,
                      StatusOr<int> (*pass)(Graph&, passes::PassContext&) = passes::run_fuse_attention) {
  int count = 0;
  OneAttention r{testing::import_and_run(bytes, pass, &count)};
  EXPECT_TRUE(r.g.ok()) << r.g.status().to_string();
  if (!r.g.ok()) return r;
  EXPECT_EQ(count, 1);
  r.att = find_op(*r.g, "Attention");
  EXPECT_NE(r.att, nullptr);
  return r;
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
  auto [g, att] = fuse_one(bytes);
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

StatusOr<int> qdq_then_attention(Graph& g, passes::PassContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(passes::run_fuse_qdq(g, ctx).status());
  return passes::run_fuse_attention(g, ctx);
}

// ORT's static quantization puts a Q/DQ pair after every step; fuse_qdq makes
// them QuantizeDequantize nodes, and the attention takes them in as
// attributes (the mask side is a Q/DQ output too in ORT's models).
TEST(FuseAttention, qdq_pairs_between_the_steps_fuse_into_the_attention) {
  for (const char* scale_op : {"Div", "Mul", ""}) {
    for (bool mask : {true, false}) {
      SCOPED_TRACE(std::string("scale_op=") + scale_op + " mask=" + std::to_string(mask));
      const std::string bytes = attention_model({.mask = mask, .scale_op = scale_op, .qdq = true});
      auto [g, att] = fuse_one(bytes, qdq_then_attention);
      ASSERT_NE(att, nullptr);
      const bool scaled = *scale_op != 0;
      const bool present[5] = {true, scaled, mask, true, true};
      for (int i = 0; i < 5; ++i) {
        auto v = att->attrs.get_floats(kAttentionQdqAttrs[i]);
        ASSERT_EQ(v.ok(), present[i]) << kAttentionQdqAttrs[i];
        if (!present[i]) continue;
        EXPECT_EQ(*v, (std::vector<float>{kQdq[i][0], kQdq[i][1], 0.f, 255.f})) << kAttentionQdqAttrs[i];
      }
      // Every kernel against the unfused graph on the reference kernels: the
      // probabilities (and output) may round to the neighbouring step on an edge.
      const auto in = inputs(2, 9, mask, /*integer_qk=*/true);
      float v_max = 0.f;
      for (int64_t i = 0; i < in[2].tensor.num_elements(); ++i)
        v_max = std::max(v_max, std::fabs(in[2].tensor.data<float>()[i]));
      const double step = kQdq[3][0] * v_max * 1.01 + kQdq[4][0] * 1.01;
      SessionOptions ref_opts;
      ref_opts.optimization_level = 0;
      auto ref = Session::CreateFromBytes(bytes.data(), bytes.size(), ref_opts);
      ASSERT_TRUE(ref.ok());
      auto want = (*ref)->Run(in);
      ASSERT_TRUE(want.ok());
      const bool avx2 = jit::may_use(jit::kIsaAvx2, jit::default_isa_cap());
      for (const char* kernel : {"fast_attention_f32", "onednn_attention_f32", "reference"}) {
        if (!avx2 && std::string(kernel) == "fast_attention_f32") continue;
        SessionOptions o;
        if (std::string(kernel) != "fast_attention_f32") o.disabled_kernels.insert("fast_attention_f32");
        if (std::string(kernel) == "reference") o.disabled_kernels.insert("onednn_attention_f32");
        auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), o);
        ASSERT_TRUE(s.ok());
        EXPECT_NE((*s)->op_summary().find("Attention x1"), std::string::npos) << (*s)->op_summary();
        EXPECT_EQ((*s)->op_summary().find("Softmax"), std::string::npos) << (*s)->op_summary();
        // Only the mask's own pair stays (it is the Attention's mask input).
        EXPECT_EQ((*s)->op_summary().find(mask ? "QuantizeDequantize x1" : "QuantizeDequantize") == std::string::npos, !mask)
            << (*s)->op_summary();
        auto got = (*s)->Run(in);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(testing::within_one_quantization_step((*got)[0].tensor, (*want)[0].tensor, step), "") << kernel;
      }
    }
  }
}

// GPT-2 exports the causal mask as Where(tril, scores, finfo.min) between the
// scale and the padding mask: it becomes the Attention's keep input and fill.
TEST(FuseAttention, gpt2_causal_where_becomes_keep_and_fill) {
  for (bool mask : {true, false}) {
    SCOPED_TRACE(mask ? "with padding mask" : "causal only");
    const std::string bytes = attention_model({.mask = mask, .causal = true});
    auto [g, att] = fuse_one(bytes);
    ASSERT_NE(att, nullptr);
    ASSERT_EQ(att->inputs.size(), 5u);
    EXPECT_EQ(att->inputs[3] == kNoValue, !mask);
    EXPECT_EQ(g->value(att->inputs[4]).name, "keep");
    EXPECT_EQ(*att->attrs.get_float("fill"), -3.4028234663852886e38f);
    auto session = Session::CreateFromBytes(bytes.data(), bytes.size(), {});
    ASSERT_TRUE(session.ok());
    EXPECT_EQ((*session)->op_summary().find("Where"), std::string::npos) << (*session)->op_summary();
    for (auto [batch, seq] : {std::pair<int64_t, int64_t>{1, 1}, {2, 7}, {1, 33}})
      expect_unfused_outputs(bytes, inputs(batch, seq, mask, false, true));
  }
  // A Where whose fill is not a constant (here a graph input) stays unfused.
  onnx::ModelProto model;
  ASSERT_TRUE(model.ParseFromString(attention_model({.causal = true})));
  auto* inits = model.mutable_graph()->mutable_initializer();
  for (int i = 0; i < inits->size(); ++i)
    if (inits->Get(i).name() == "fill") inits->DeleteSubrange(i, 1);
  auto* fill = model.mutable_graph()->add_input();
  fill->set_name("fill");
  fill->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  fill->mutable_type()->mutable_tensor_type()->mutable_shape();
  int count = 0;
  auto g = fused(model.SerializeAsString(), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 0);
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
