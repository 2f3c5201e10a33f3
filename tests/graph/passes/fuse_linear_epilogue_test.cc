#include "graph/passes/fuse_linear_epilogue.h"

#include <cmath>
#include <random>

#include "graph/passes/shape_inference.h"
#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

constexpr int64_t K = 16, N = 24;

// x[seq, K] -> MatMul(w) -> Add(bias) -> GELU as PyTorch exports it
// (Div sqrt2, Erf, Add 1, Mul x, Mul 0.5) -> Add(residual r[seq, N]).
// Options make an intermediate a graph output or give it a second reader.
OnnxBuilder bert_ffn(bool bias_is_output = false, bool matmul_two_readers = false, bool relu = false) {
  std::mt19937 rng(11);
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).input("r", onnx::TensorProto::FLOAT, {-1, N}, {"seq"});
  b.output("y");
  b.initializer("w", {K, N}, testing::randn(K * N, rng));
  b.initializer("bias", {N}, testing::randn(N, rng));
  b.initializer("sqrt2", {}, {std::sqrt(2.f)});
  b.initializer("one", {}, {1.f});
  b.initializer("half", {}, {0.5f});
  b.node("MatMul", {"x", "w"}, {"mm"}, "dense");
  b.node("Add", {"bias", "mm"}, {"biased"}, "bias_add");  // bias first: either order matches
  if (relu) {
    b.node("Relu", {"biased"}, {"act"}, "relu");
  } else {
    b.node("Div", {"biased", "sqrt2"}, {"d"}, "gelu_div");
    b.node("Erf", {"d"}, {"e"}, "gelu_erf");
    b.node("Add", {"e", "one"}, {"e1"}, "gelu_add");
    b.node("Mul", {"biased", "e1"}, {"p"}, "gelu_mul");
    b.node("Mul", {"p", "half"}, {"act"}, "gelu_half");
  }
  b.node("Add", {"act", "r"}, {"y"}, "residual");
  if (bias_is_output) b.output("biased");
  if (matmul_two_readers) {
    b.node("Neg", {"mm"}, {"neg"}, "second_reader");
    b.output("neg");
  }
  return b;
}

std::vector<NamedTensor> inputs(int64_t seq) {
  std::mt19937 rng(5);
  return {{"x", Tensor::from_vector<float>({seq, K}, testing::randn(seq * K, rng))},
          {"r", Tensor::from_vector<float>({seq, N}, testing::randn(seq * N, rng))}};
}

StatusOr<Graph> fused(const std::string& bytes, int* count) {
  return testing::import_and_run(bytes, passes::run_fuse_linear_epilogue, count);
}

const Node* find_op(const Graph& g, const std::string& op) {
  for (const Node& n : g.nodes())
    if (n.op_type == op) return &n;
  return nullptr;
}

TEST(FuseLinearEpilogue, bias_gelu_and_residual_become_one_linear) {
  int count = 0;
  auto g = fused(bert_ffn().bytes(), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 1);
  EXPECT_EQ(g->num_nodes(), 1u);
  const Node* lin = find_op(*g, "Linear");
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(lin->domain, "com.sparsert");
  EXPECT_EQ(*lin->attrs.get_string("activation"), "gelu_erf");
  ASSERT_EQ(lin->inputs.size(), 4u);
  EXPECT_EQ(g->value(lin->inputs[2]).name, "bias");
  EXPECT_EQ(g->value(lin->inputs[3]).name, "r");
  EXPECT_EQ(g->value(lin->outputs[0]).name, "y");
  EXPECT_TRUE(g->value(lin->inputs[1]).constant.has_value()) << "the weight was released";
  for (int64_t seq : {1, 7}) testing::expect_same_outputs(bert_ffn().bytes(), inputs(seq), 1e-5);
}

TEST(FuseLinearEpilogue, relu_variant) {
  int count = 0;
  auto g = fused(bert_ffn(false, false, true).bytes(), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 1);
  EXPECT_EQ(*find_op(*g, "Linear")->attrs.get_string("activation"), "relu");
  testing::expect_same_outputs(bert_ffn(false, false, true).bytes(), inputs(5), 1e-5);
}

// x[seq, K] -> MatMul(w) -> Add(bias) -> GPT-2's gelu_new as PyTorch exports it:
// 0.5 * y * (1 + tanh(sqrt(2/pi) * (y + 0.044715 * y^3))). `cube_coef` other
// than 0.044715 is a different function and must not be fused.
std::string gpt2_mlp(float cube_coef = 0.044715f) {
  std::mt19937 rng(12);
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).output("y");
  b.initializer("w", {K, N}, testing::randn(K * N, rng));
  b.initializer("bias", {N}, testing::randn(N, rng));
  b.node("MatMul", {"x", "w"}, {"mm"}, "c_fc");
  b.node("Add", {"mm", "bias"}, {"h"}, "bias_add");
  testing::add_gelu_tanh(b, "h", "y", cube_coef);
  return b.bytes();
}

TEST(FuseLinearEpilogue, gpt2_tanh_gelu_becomes_the_gelu_tanh_activation) {
  int count = 0;
  auto g = fused(gpt2_mlp(), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 1);
  EXPECT_EQ(g->num_nodes(), 1u);
  const Node* lin = find_op(*g, "Linear");
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(*lin->attrs.get_string("activation"), "gelu_tanh");
  EXPECT_EQ(g->value(lin->outputs[0]).name, "y");
  std::mt19937 rng(6);
  for (int64_t seq : {1, 9})
    testing::expect_same_outputs(gpt2_mlp(), {{"x", Tensor::from_vector<float>({seq, K}, testing::randn(seq * K, rng))}},
                                 1e-5);
  // Another cube coefficient is another function: only MatMul + bias fuse.
  g = fused(gpt2_mlp(0.05f), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*find_op(*g, "Linear")->attrs.get_string("activation"), "none");
  EXPECT_NE(find_op(*g, "Tanh"), nullptr);
}

TEST(FuseLinearEpilogue, an_intermediate_graph_output_stops_the_chain) {
  int count = 0;
  auto g = fused(bert_ffn(true).bytes(), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 1);
  const Node* lin = find_op(*g, "Linear");
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(g->value(lin->outputs[0]).name, "biased") << "the graph output must still be produced";
  EXPECT_EQ(*lin->attrs.get_string("activation"), "none");
  EXPECT_NE(find_op(*g, "Erf"), nullptr);
  testing::expect_same_outputs(bert_ffn(true).bytes(), inputs(3), 1e-5);
}

TEST(FuseLinearEpilogue, a_matmul_with_two_readers_is_left_alone) {
  int count = 0;
  auto g = fused(bert_ffn(false, true).bytes(), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 0);
  EXPECT_EQ(find_op(*g, "Linear"), nullptr);
  EXPECT_NE(find_op(*g, "MatMul"), nullptr);
  testing::expect_same_outputs(bert_ffn(false, true).bytes(), inputs(4), 1e-5);
}

TEST(FuseLinearEpilogue, residual_of_another_shape_is_not_fused) {
  std::mt19937 rng(3);
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, K}).input("r", onnx::TensorProto::FLOAT, {1, N}).output("y");
  b.initializer("w", {K, N}, testing::randn(K * N, rng));
  b.node("MatMul", {"x", "w"}, {"mm"}, "dense");
  b.node("Relu", {"mm"}, {"act"}, "relu");
  b.node("Add", {"act", "r"}, {"y"}, "broadcast_add");  // broadcasts r: not an element-wise residual
  int count = 0;
  auto g = fused(b.bytes(), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 1);
  const Node* lin = find_op(*g, "Linear");
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(lin->inputs.size(), 2u);
  EXPECT_NE(find_op(*g, "Add"), nullptr);
  std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({2, K}, testing::randn(2 * K, rng))},
                                 {"r", Tensor::from_vector<float>({1, N}, testing::randn(N, rng))}};
  testing::expect_same_outputs(b.bytes(), in, 1e-5);
}

TEST(FuseLinearEpilogue, sparse_weights_take_the_sparse_kernel_with_the_whole_chain) {
  // The same FFN with a 90%-pruned weight: the Linear runs on the sparse kernel
  // (bias, GELU and residual in its epilogue) and matches the reference plan.
  OnnxBuilder b = bert_ffn();
  auto* w = b.model().mutable_graph()->mutable_initializer(0);
  ASSERT_EQ(w->name(), "w");
  for (int i = 0; i < w->float_data_size(); ++i)
    if (i % 10 != 0) w->set_float_data(i, 0.f);
  auto r = testing::compare_with_reference(b.bytes(), inputs(9), 1e-5);
  EXPECT_EQ(r.kernels, "sparse_linear_f32 x1");
}

}  // namespace
}  // namespace sparsert

namespace sparsert {
namespace {

// The Linear op's reference kernel (what the reference plan and fallbacks run)
// equals the unfused chain it stands for.
TEST(LinearOp, reference_kernel_equals_the_unfused_chain) {
  OnnxBuilder chain = bert_ffn();
  OnnxBuilder fused_model;
  auto* os = fused_model.model().add_opset_import();
  os->set_domain("com.sparsert");
  os->set_version(1);
  std::mt19937 rng(11);  // bert_ffn's weights
  fused_model.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).input("r", onnx::TensorProto::FLOAT, {-1, N}, {"seq"});
  fused_model.output("y");
  fused_model.initializer("w", {K, N}, testing::randn(K * N, rng));
  fused_model.initializer("bias", {N}, testing::randn(N, rng));
  auto& lin = fused_model.node("Linear", {"x", "w", "bias", "r"}, {"y"}, "dense", "com.sparsert");
  auto* a = lin.add_attribute();
  a->set_name("activation");
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s("gelu_erf");
  SessionOptions ref;
  ref.optimization_level = 0;
  const std::string chain_bytes = chain.bytes(), fused_bytes = fused_model.bytes();
  auto s1 = Session::CreateFromBytes(chain_bytes.data(), chain_bytes.size(), ref);
  auto s2 = Session::CreateFromBytes(fused_bytes.data(), fused_bytes.size(), ref);
  ASSERT_TRUE(s1.ok() && s2.ok()) << s2.status().to_string();
  auto y1 = (*s1)->Run(inputs(6));
  auto y2 = (*s2)->Run(inputs(6));
  ASSERT_TRUE(y1.ok() && y2.ok()) << y2.status().to_string();
  EXPECT_EQ(testing::compare_tensors((*y2)[0].tensor, (*y1)[0].tensor, 1e-5), "");
  // A residual of the wrong shape is a clear error, not a crash (here the
  // session's input check names it before the kernel would).
  auto bad = (*s2)->Run({inputs(6)[0], {"r", Tensor::from_vector<float>({5, N}, std::vector<float>(5 * N, 1.f))}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("input 'r'"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace sparsert

namespace sparsert {
namespace {

// ORT's dynamic quantization of x[seq, K] * W + bias -> ReLU -> + r, with W
// 4x1-pruned to `sparsity` and quantized symmetrically.
std::string dynamic_int8_ffn(double sparsity, bool as_integer_linear = false) {
  std::mt19937 rng(21);
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).input("r", onnx::TensorProto::FLOAT, {-1, N}, {"seq"});
  b.output("y");
  std::vector<int8_t> w(static_cast<size_t>(K * N), 0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; n += 4)
      if (u(rng) >= sparsity)
        for (int64_t i = n; i < n + 4; ++i) w[static_cast<size_t>(k * N + i)] = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  b.raw_initializer("wq", onnx::TensorProto::INT8, {K, N}, std::string(reinterpret_cast<const char*>(w.data()), w.size()));
  b.raw_initializer("wz", onnx::TensorProto::INT8, {}, std::string(1, '\0'));
  b.initializer("ws", {}, {0.0123f});
  b.initializer("bias", {N}, testing::randn(N, rng));
  b.node("DynamicQuantizeLinear", {"x"}, {"xq", "xs", "xz"}, "dql");
  if (as_integer_linear) {  // the fused form, written directly (for its reference kernel)
    auto* os = b.model().add_opset_import();
    os->set_domain("com.sparsert");
    os->set_version(1);
    auto& n = b.node("IntegerLinear", {"xq", "wq", "xz", "xs", "ws", "bias", "r"}, {"y"}, "fused", "com.sparsert");
    auto* a = n.add_attribute();
    a->set_name("activation");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s("relu");
    return b.bytes();
  }
  b.node("MatMulInteger", {"xq", "wq", "xz", "wz"}, {"acc"}, "mmi");
  OnnxBuilder::int_attr(b.node("Cast", {"acc"}, {"accf"}, "cast"), "to", onnx::TensorProto::FLOAT);
  b.node("Mul", {"xs", "ws"}, {"s"}, "scales");
  b.node("Mul", {"accf", "s"}, {"deq"}, "dequant");
  b.node("Add", {"deq", "bias"}, {"biased"}, "bias_add");
  b.node("Relu", {"biased"}, {"act"}, "relu");
  b.node("Add", {"r", "act"}, {"y"}, "residual");
  return b.bytes();
}

TEST(FuseLinearEpilogue, dynamic_int8_chain_becomes_one_integer_linear_when_sparse) {
  int count = 0;
  auto g = fused(dynamic_int8_ffn(0.9), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 1);
  const Node* lin = find_op(*g, "IntegerLinear");
  ASSERT_NE(lin, nullptr);
  EXPECT_EQ(lin->inputs.size(), 7u);
  EXPECT_EQ(*lin->attrs.get_string("activation"), "relu");
  EXPECT_EQ(g->value(lin->inputs[3]).name, "xs");
  EXPECT_EQ(g->value(lin->inputs[4]).name, "ws");
  EXPECT_EQ(g->value(lin->inputs[6]).name, "r");
  EXPECT_NE(find_op(*g, "DynamicQuantizeLinear"), nullptr) << "the quantization stays (it may feed other layers)";
  for (const char* gone : {"MatMulInteger", "Cast", "Mul", "Add", "Relu"}) EXPECT_EQ(find_op(*g, gone), nullptr) << gone;
  for (int64_t seq : {1, 19}) {
    auto r = testing::compare_with_reference(dynamic_int8_ffn(0.9), inputs(seq), 1e-5);
    EXPECT_EQ(r.kernels, "fast_dynamic_quantize_f32 x1, sparse_integer_linear_u8s8 x1");
  }
}

TEST(IntegerLinearOp, reference_kernel_equals_the_unfused_chain) {
  SessionOptions ref;
  ref.optimization_level = 0;
  const std::string chain = dynamic_int8_ffn(0.5), fused_model = dynamic_int8_ffn(0.5, true);
  auto s1 = Session::CreateFromBytes(chain.data(), chain.size(), ref);
  auto s2 = Session::CreateFromBytes(fused_model.data(), fused_model.size(), ref);
  ASSERT_TRUE(s1.ok() && s2.ok()) << s2.status().to_string();
  auto y1 = (*s1)->Run(inputs(11));
  auto y2 = (*s2)->Run(inputs(11));
  ASSERT_TRUE(y1.ok() && y2.ok()) << y2.status().to_string();
  EXPECT_EQ(testing::compare_tensors((*y2)[0].tensor, (*y1)[0].tensor, 1e-6), "");
}

TEST(FuseLinearEpilogue, dense_dynamic_int8_chain_is_left_to_the_dense_int8_kernels) {
  int count = 0;
  auto g = fused(dynamic_int8_ffn(0.0), &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(find_op(*g, "IntegerLinear"), nullptr);
  EXPECT_NE(find_op(*g, "MatMulInteger"), nullptr);
}

}  // namespace
}  // namespace sparsert
