// fuse_qdq: ORT's QDQ MatMul becomes QLinearMatMul (structure), agrees with
// the unfused QDQ graph within one output quantization step, and what does
// not fit the pattern (asymmetric weights, a MatMul output with another
// reader) is left alone.
#include "graph/passes/fuse_qdq.h"

#include <cmath>
#include <random>

#include "graph/passes/shape_inference.h"
#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

constexpr int64_t K = 40, N = 12;
constexpr float kYScale = 0.05f;

// x[seq, K] -> Q -> DQ -> MatMul(DQ(W int8, per-column scales)) -> Q -> DQ -> y.
std::string qdq_matmul(bool asymmetric_weights = false, bool second_reader = false) {
  std::mt19937 rng(21);
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).output("y");
  b.initializer("x_scale", {}, {0.02f});
  b.raw_initializer("x_zp", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(120)));
  std::string w(static_cast<size_t>(K * N), '\0');
  for (char& v : w) v = static_cast<char>(static_cast<int>(rng() % 256) - 128);
  b.raw_initializer("w", onnx::TensorProto::INT8, {K, N}, w);
  std::vector<float> ws(N);
  for (float& v : ws) v = 0.001f + 0.001f * static_cast<float>(rng() % 10);
  b.initializer("w_scale", {N}, ws);
  std::string wz(static_cast<size_t>(N), '\0');
  if (asymmetric_weights) wz[3] = 5;
  b.raw_initializer("w_zp", onnx::TensorProto::INT8, {N}, wz);
  b.initializer("y_scale", {}, {kYScale});
  b.raw_initializer("y_zp", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(128)));
  b.node("QuantizeLinear", {"x", "x_scale", "x_zp"}, {"xq"}, "x_q");
  b.node("DequantizeLinear", {"xq", "x_scale", "x_zp"}, {"xd"}, "x_dq");
  OnnxBuilder::int_attr(b.node("DequantizeLinear", {"w", "w_scale", "w_zp"}, {"wd"}, "w_dq"), "axis", 1);
  b.node("MatMul", {"xd", "wd"}, {"mm"}, "matmul");
  b.node("QuantizeLinear", {"mm", "y_scale", "y_zp"}, {"yq"}, "y_q");
  b.node("DequantizeLinear", {"yq", "y_scale", "y_zp"}, {"y"}, "y_dq");
  if (second_reader) {
    b.node("Neg", {"mm"}, {"neg"}, "second_reader");
    b.output("neg");
  }
  return b.bytes();
}

StatusOr<Graph> fused(const std::string& bytes, int* count) {
  return testing::import_and_run(bytes, passes::run_fuse_qdq, count);
}

TEST(FuseQdq, qdq_matmul_becomes_qlinear_matmul) {
  int count = 0;
  auto g = fused(qdq_matmul(), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 1);
  EXPECT_EQ(testing::count_op(*g, "QLinearMatMul"), 1);
  EXPECT_EQ(testing::count_op(*g, "MatMul"), 0);
  // The Q of the product is gone; x's Q (read by the QLinearMatMul) and the output's DQ stay.
  EXPECT_EQ(testing::count_op(*g, "QuantizeLinear"), 1);
  for (const Node& n : g->nodes())
    if (n.op_type == "QLinearMatMul") {
      EXPECT_EQ(g->value(n.outputs[0]).name, "yq");
    }
}

TEST(FuseQdq, agrees_with_the_unfused_graph_within_one_output_step) {
  std::mt19937 rng(22);
  const std::string model = qdq_matmul();
  for (int64_t seq : {1, 7, 33}) {
    const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({seq, K}, testing::randn(seq * K, rng))}};
    SessionOptions ref_opts;
    ref_opts.optimization_level = 0;
    auto ref = Session::CreateFromBytes(model.data(), model.size(), ref_opts);
    auto opt = Session::CreateFromBytes(model.data(), model.size());
    ASSERT_TRUE(ref.ok() && opt.ok());
    EXPECT_NE((*opt)->kernel_summary().find("qlinear_matmul"), std::string::npos) << (*opt)->kernel_summary();
    auto want = (*ref)->Run(in);
    auto got = (*opt)->Run(in);
    ASSERT_TRUE(want.ok() && got.ok());
    const Tensor &a = (*want)[0].tensor, &b = (*got)[0].tensor;
    ASSERT_EQ(a.shape(), b.shape());
    // The float MatMul rounds its sum before the quantization; the integer
    // product does not: a value next to a rounding boundary may move one step.
    int64_t moved = 0;
    for (int64_t i = 0; i < a.num_elements(); ++i) {
      const float d = std::fabs(a.data<float>()[i] - b.data<float>()[i]);
      EXPECT_LE(d, kYScale * 1.001f) << "element " << i;
      moved += d > 0.f;
    }
    EXPECT_LE(moved, std::max<int64_t>(1, a.num_elements() / 20)) << "seq " << seq;
  }
}

TEST(FuseQdq, asymmetric_weights_and_shared_products_are_left_alone) {
  for (bool asym : {true, false}) {
    int count = -1;
    auto g = fused(qdq_matmul(asym, !asym), &count);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(testing::count_op(*g, "MatMul"), 1);
    EXPECT_EQ(testing::count_op(*g, "QLinearMatMul"), 0);
    // x's Q -> DQ pair still becomes one op; the product's Q too unless the
    // product has a second reader (then its Q reads a float the Neg also needs,
    // and the pair is still one op).
    EXPECT_EQ(count, 2);
    EXPECT_EQ(testing::count_op(*g, "QuantizeDequantize"), 2);
    EXPECT_EQ(testing::count_op(*g, "QuantizeLinear"), 0);
  }
}

TEST(FuseQdq, a_q_with_other_readers_keeps_its_dequantize) {
  // The fused QLinearMatMul reads x's 8-bit tensor: that Q and its DQ stay separate.
  int count = -1;
  auto g = fused(qdq_matmul(), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(testing::count_op(*g, "QuantizeDequantize"), 0);
}

TEST(FuseQdq, gather_from_a_quantized_table_dequantizes_only_the_rows) {
  std::mt19937 rng(23);
  OnnxBuilder b;
  b.input("ids", onnx::TensorProto::INT64, {2, -1}, {"", "seq"}).output("y");
  const int64_t V = 50, D = 8;
  std::string table(static_cast<size_t>(V * D), '\0');
  for (char& v : table) v = static_cast<char>(static_cast<int>(rng() % 256) - 128);
  b.raw_initializer("table", onnx::TensorProto::INT8, {V, D}, table);
  b.initializer("scale", {}, {0.01f});
  b.raw_initializer("zp", onnx::TensorProto::INT8, {}, std::string(1, static_cast<char>(-3)));
  b.node("DequantizeLinear", {"table", "scale", "zp"}, {"table_f"}, "table_dq");
  b.node("Gather", {"table_f", "ids"}, {"y"}, "embed");
  int count = 0;
  auto g = fused(b.bytes(), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 1);
  for (const Node& n : g->nodes())
    if (n.op_type == "Gather") {
      EXPECT_EQ(g->value(n.inputs[0]).name, "table");
    }
  std::vector<int64_t> ids = {0, 49, 7, 7, 13, 2};
  testing::expect_same_outputs(b.bytes(), {{"ids", Tensor::from_vector<int64_t>({2, 3}, ids)}}, 0.0);
}

TEST(FuseQdq, requantizing_moved_values_with_the_same_parameters_is_dropped_exactly) {
  // x -> Q/DQ -> Reshape -> Transpose -> Q/DQ (same scale and zero point) -> y, and a
  // third pair with another scale that must stay.
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {4, 6}).output("y").output("z");
  b.initializer("s", {}, {0.037f});
  b.raw_initializer("zp", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(121)));
  b.initializer("s2", {}, {0.05f});
  b.int64_initializer("shape", {2, 12});
  b.node("QuantizeLinear", {"x", "s", "zp"}, {"q1"}, "q1");
  b.node("DequantizeLinear", {"q1", "s", "zp"}, {"d1"}, "d1");
  b.node("Reshape", {"d1", "shape"}, {"r"}, "reshape");
  b.node("Transpose", {"r"}, {"t"}, "transpose");
  b.node("QuantizeLinear", {"t", "s", "zp"}, {"q2"}, "q2");
  b.node("DequantizeLinear", {"q2", "s", "zp"}, {"d2"}, "d2");
  b.node("Neg", {"d2"}, {"y"}, "neg");
  b.node("QuantizeLinear", {"t", "s2", "zp"}, {"q3"}, "q3");
  b.node("DequantizeLinear", {"q3", "s2", "zp"}, {"z"}, "d3");
  int count = 0;
  auto g = fused(b.bytes(), &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(testing::count_op(*g, "QuantizeDequantize"), 2);  // the first and the other-scale one
  std::mt19937 rng(24);
  std::vector<float> x = testing::randn(24, rng);
  for (float& v : x) v *= 3.f;  // some values saturate
  testing::expect_same_outputs(b.bytes(), {{"x", Tensor::from_vector<float>({4, 6}, x)}}, 0.0);
}

}  // namespace
}  // namespace sparsert
