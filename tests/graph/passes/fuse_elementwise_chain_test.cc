// fuse_elementwise_chain: QDQ BERT's FFN epilogue (8-bit in, bias, GELU with
// every step requantized, 8-bit out) and a float chain with residual, mask,
// reversed Sub/Div and activations become one ElementwiseChain each; the fused
// graph is bit-identical to the unfused one on the fast kernels, close to the
// reference plan, and the chain's fast kernel agrees with its reference twin;
// an intermediate read outside the chain ends it there.
#include "graph/passes/fuse_elementwise_chain.h"

#include <cmath>
#include <cstring>
#include <random>

#include "ops/elementwise_chain.h"
#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

constexpr int64_t S = 5, C = 37;  // C: not a multiple of any vector width

void qdq(OnnxBuilder& b, const std::string& in, const std::string& out, float scale, int zp) {
  b.initializer(out + "_s", {}, {scale});
  b.raw_initializer(out + "_z", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(zp)));
  b.node("QuantizeLinear", {in, out + "_s", out + "_z"}, {out + "_q"}, out + "_quant");
  b.node("DequantizeLinear", {out + "_q", out + "_s", out + "_z"}, {out}, out + "_dequant");
}

// x_q uint8 [S, C] -> DQ -> Add(bias) -> QDQ -> GELU (Div, Erf, Add 1, Mul x, Mul 0.5, each
// requantized as ORT writes it) -> Q -> y uint8.
std::string qdq_ffn_epilogue() {
  std::mt19937 rng(31);
  OnnxBuilder b;
  b.input("xq", onnx::TensorProto::UINT8, {S, C}).output("y", onnx::TensorProto::UINT8);
  b.initializer("x_s", {}, {0.05f});
  b.raw_initializer("x_z", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(128)));
  b.node("DequantizeLinear", {"xq", "x_s", "x_z"}, {"x"}, "x_dq");
  b.initializer("bias", {C}, testing::randn(C, rng));
  b.node("Add", {"bias", "x"}, {"biased"}, "bias_add");
  qdq(b, "biased", "h", 0.06f, 120);
  b.initializer("sqrt2", {}, {std::sqrt(2.f)});
  b.initializer("one", {}, {1.f});
  b.initializer("half", {}, {0.5f});
  b.node("Div", {"h", "sqrt2"}, {"d"}, "gelu_div");
  b.node("Erf", {"d"}, {"e"}, "gelu_erf");
  qdq(b, "e", "eq", 2.f / 255.f, 128);
  b.node("Add", {"eq", "one"}, {"e1"}, "gelu_add");
  qdq(b, "e1", "e1q", 2.f / 255.f, 0);
  b.node("Mul", {"h", "e1q"}, {"p"}, "gelu_mul");
  qdq(b, "p", "pq", 0.08f, 30);
  b.node("Mul", {"pq", "half"}, {"g"}, "gelu_half");
  b.initializer("y_s", {}, {0.04f});
  b.raw_initializer("y_z", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(20)));
  b.node("QuantizeLinear", {"g", "y_s", "y_z"}, {"y"}, "y_quant");
  return b.bytes();
}

// x float [2, S, C], r float [2, S, C], mask [1, 1, C]: Add(r) -> Sub(1 - v) -> Mul(mask)
// -> Div(2 / v) -> Relu -> Sigmoid -> Sub(v - 0.5) -> y; `mid` also read outside when asked.
std::string float_chain(bool outside_reader) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, S, C}).input("r", onnx::TensorProto::FLOAT, {2, S, C});
  b.input("mask", onnx::TensorProto::FLOAT, {1, 1, C}).output("y");
  b.initializer("one", {}, {1.f});
  b.initializer("two", {}, {2.f});
  b.initializer("half", {}, {0.5f});
  b.node("Add", {"x", "r"}, {"a"}, "residual");
  b.node("Sub", {"one", "a"}, {"s"}, "one_minus");
  b.node("Mul", {"s", "mask"}, {"mid"}, "masked");
  b.node("Div", {"two", "mid"}, {"q"}, "two_over");
  b.node("Relu", {"q"}, {"rl"}, "relu");
  b.node("Sigmoid", {"rl"}, {"sg"}, "sigmoid");
  b.node("Sub", {"sg", "half"}, {"y"}, "minus_half");
  if (outside_reader) {
    b.node("Neg", {"mid"}, {"n"}, "outside");
    b.output("n");
  }
  return b.bytes();
}

std::vector<NamedTensor> ffn_inputs(std::mt19937& rng) {
  std::vector<uint8_t> xq(static_cast<size_t>(S * C));
  for (uint8_t& v : xq) v = static_cast<uint8_t>(rng() % 256);
  return {{"xq", Tensor::from_vector<uint8_t>({S, C}, xq)}};
}

std::vector<NamedTensor> float_inputs(std::mt19937& rng) {
  return {{"x", Tensor::from_vector<float>({2, S, C}, testing::randn(2 * S * C, rng))},
          {"r", Tensor::from_vector<float>({2, S, C}, testing::randn(2 * S * C, rng))},
          {"mask", Tensor::from_vector<float>({1, 1, C}, testing::randn(C, rng))}};
}

// Runs `model` with the given options; the outputs.
std::vector<NamedTensor> run(const std::string& model, const std::vector<NamedTensor>& in, const SessionOptions& o,
                             std::string* ops = nullptr) {
  auto s = Session::CreateFromBytes(model.data(), model.size(), o);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  if (!s.ok()) return {};
  if (ops) *ops = (*s)->op_summary() + " | " + (*s)->kernel_summary();
  auto out = (*s)->Run(in);
  EXPECT_TRUE(out.ok()) << out.status().to_string();
  return out.ok() ? *out : std::vector<NamedTensor>{};
}

void expect_bit_identical(const std::vector<NamedTensor>& a, const std::vector<NamedTensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].tensor.shape(), b[i].tensor.shape());
    ASSERT_EQ(a[i].tensor.dtype(), b[i].tensor.dtype());
    const size_t bytes = dtype_storage_bytes(a[i].tensor.dtype(), static_cast<size_t>(a[i].tensor.num_elements()));
    EXPECT_EQ(std::memcmp(a[i].tensor.raw_data(), b[i].tensor.raw_data(), bytes), 0) << "output " << i;
  }
}

TEST(FuseElementwiseChain, qdq_ffn_epilogue_is_one_chain_from_8_bits_to_8_bits) {
  std::mt19937 rng(32);
  const std::string model = qdq_ffn_epilogue();
  const auto in = ffn_inputs(rng);
  std::string ops;
  auto fused = run(model, in, {}, &ops);
  EXPECT_EQ(ops.rfind("ElementwiseChain x1 |", 0), 0u) << ops;  // the only node
  EXPECT_NE(ops.find("fast_elementwise_chain x1"), std::string::npos) << ops;
  SessionOptions unfused;
  unfused.disabled_passes = {"fuse_elementwise_chain"};
  expect_bit_identical(fused, run(model, in, unfused));
  // Against the reference plan (std::erf instead of the fast erf): an 8-bit
  // value may move one step where the two land on either side of a rounding edge.
  SessionOptions reference;
  reference.optimization_level = 0;
  const auto want = run(model, in, reference);
  ASSERT_EQ(want.size(), 1u);
  int moved = 0;
  for (int64_t i = 0; i < want[0].tensor.num_elements(); ++i) {
    const int d = std::abs(static_cast<int>(fused[0].tensor.data<uint8_t>()[i]) - want[0].tensor.data<uint8_t>()[i]);
    EXPECT_LE(d, 1) << i;
    moved += d;
  }
  EXPECT_LE(moved, 3);
}

TEST(FuseElementwiseChain, float_chain_with_residual_mask_and_reversed_operands) {
  std::mt19937 rng(33);
  const std::string model = float_chain(false);
  const auto in = float_inputs(rng);
  std::string ops;
  auto fused = run(model, in, {}, &ops);
  EXPECT_EQ(ops.rfind("ElementwiseChain x1 |", 0), 0u) << ops;
  SessionOptions unfused;
  unfused.disabled_passes = {"fuse_elementwise_chain"};
  expect_bit_identical(fused, run(model, in, unfused));
  testing::expect_same_outputs(model, in, 1e-6);  // vs the reference plan
}

TEST(FuseElementwiseChain, fast_kernel_agrees_with_its_reference_twin) {
  std::mt19937 rng(34);
  for (bool qdq_model : {true, false}) {
    const std::string model = qdq_model ? qdq_ffn_epilogue() : float_chain(false);
    const auto in = qdq_model ? ffn_inputs(rng) : float_inputs(rng);
    SessionOptions twin;
    twin.disabled_kernels = {"fast_elementwise_chain"};
    std::string ops;
    const auto ref = run(model, in, twin, &ops);
    EXPECT_NE(ops.find("reference x1"), std::string::npos) << ops;
    const auto fast = run(model, in, {});
    ASSERT_EQ(ref.size(), fast.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      if (qdq_model) {  // 8-bit: within one step
        for (int64_t j = 0; j < ref[i].tensor.num_elements(); ++j)
          EXPECT_LE(std::abs(static_cast<int>(ref[i].tensor.data<uint8_t>()[j]) - fast[i].tensor.data<uint8_t>()[j]), 1);
      } else {
        EXPECT_EQ(testing::compare_tensors(fast[i].tensor, ref[i].tensor, 1e-6), "");
      }
    }
  }
}

// x float [S, C] -> QDQ -> (side: Add r) -> Sigmoid -> QDQ -> Mul 3 -> y float.
std::string float_qdq_chain(bool side_after_pair) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {S, C}).output("y");
  if (side_after_pair) b.input("r", onnx::TensorProto::FLOAT, {S, C});
  b.initializer("three", {}, {3.f});
  qdq(b, "x", "xq", 0.07f, 100);
  std::string cur = "xq";
  if (side_after_pair) b.node("Add", {cur, "r"}, {"xr"}, "residual"), cur = "xr";
  b.node("Sigmoid", {cur}, {"sg"}, "sigmoid");
  qdq(b, "sg", "sgq", 1.f / 255.f, 0);
  b.node("Mul", {"sgq", "three"}, {"y"}, "times_three");
  return b.bytes();
}

// Where the steps after a Q/DQ pair depend only on its code, the fast kernel
// looks them up in a table built from the same fast steps: bit-identical to
// the unfused graph for every code, NaN, infinities and ties, 8-bit and float
// outputs; a side operand after the pair keeps the steps.
TEST(FuseElementwiseChain, steps_after_a_pair_become_a_code_table_with_the_same_results) {
  std::mt19937 rng(36);
  std::vector<float> x = testing::randn(S * C, rng);
  for (size_t i = 0; i < x.size(); ++i) x[i] = x[i] * 8.f;  // past both ends of the code range
  const float specials[] = {NAN, INFINITY, -INFINITY, -0.f, 0.5f * 0.07f, 1.5f * 0.07f, -27.5f * 0.07f, 1e30f};
  std::copy(std::begin(specials), std::end(specials), x.begin() + 3);
  for (bool side : {false, true}) {
    const std::string model = float_qdq_chain(side);
    std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({S, C}, x)}};
    if (side) in.push_back({"r", Tensor::from_vector<float>({S, C}, testing::randn(S * C, rng))});
    auto s = Session::CreateFromBytes(model.data(), model.size(), {});
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    std::string variants;
    for (const NodeReport& r : (*s)->inspect()) variants += r.name + ": " + r.kernel + " [" + r.kernel_variant + "]\n";
    EXPECT_EQ(variants.find("[code_table_") != std::string::npos, !side) << variants;
    auto fused = (*s)->Run(in);
    ASSERT_TRUE(fused.ok());
    SessionOptions unfused;
    unfused.disabled_passes = {"fuse_elementwise_chain"};
    expect_bit_identical(*fused, run(model, in, unfused));
  }
  // The QDQ FFN epilogue (8-bit out) over all 256 input codes.
  const std::string model = qdq_ffn_epilogue();
  std::vector<uint8_t> xq(static_cast<size_t>(S * C));
  for (size_t i = 0; i < xq.size(); ++i) xq[i] = static_cast<uint8_t>(i * 7 % 256);
  std::vector<NamedTensor> in = {{"xq", Tensor::from_vector<uint8_t>({S, C}, xq)}};
  std::string ops;
  const auto fused = run(model, in, {}, &ops);
  SessionOptions unfused;
  unfused.disabled_passes = {"fuse_elementwise_chain"};
  expect_bit_identical(fused, run(model, in, unfused));
}

// xq 8-bit [S, C] -> DQ -> Add (bias [C], a full side input r, or a constant)
// -> QDQ -> y float: a QDQ MatMul's output plus bias, or a residual.
std::string dequantize_add_qdq_chain(bool s8, const std::string& operand) {
  std::mt19937 rng(37);
  OnnxBuilder b;
  const auto type = s8 ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8;
  b.input("xq", type, {S, C}).output("y");
  if (operand == "side") b.input("r", onnx::TensorProto::FLOAT, {S, C});
  b.initializer("x_s", {}, {0.05f});
  b.raw_initializer("x_z", type, {}, std::string(1, static_cast<char>(s8 ? -3 : 128)));
  b.node("DequantizeLinear", {"xq", "x_s", "x_z"}, {"x"}, "x_dq");
  if (operand == "bias") b.initializer("b", {C}, testing::randn(C, rng));
  if (operand == "constant") b.initializer("b", {}, {0.3f});
  b.node("Add", {operand == "side" ? "r" : "b", "x"}, {"biased"}, "add");
  qdq(b, "biased", "y", 0.06f, 120);
  return b.bytes();
}

// The one-pass kernel of DQ -> Add -> QDQ gives the unfused graph's floats and
// its reference twin's: u8 and s8 input, bias, full side (with NaN, infinities
// and quantization ties in it) and constant operands, vector tails (C = 37).
TEST(FuseElementwiseChain, dequantize_add_qdq_runs_in_one_pass_with_the_same_floats) {
  std::mt19937 rng(38);
  for (bool s8 : {false, true})
    for (const char* operand : {"bias", "side", "constant"}) {
      SCOPED_TRACE(std::string(s8 ? "s8 " : "u8 ") + operand);
      const std::string model = dequantize_add_qdq_chain(s8, operand);
      std::vector<uint8_t> xq(static_cast<size_t>(S * C));
      for (size_t i = 0; i < xq.size(); ++i) xq[i] = static_cast<uint8_t>(i * 7 % 256);
      std::vector<NamedTensor> in;
      if (s8) {
        std::vector<int8_t> xs(xq.begin(), xq.end());
        in.push_back({"xq", Tensor::from_vector<int8_t>({S, C}, xs)});
      } else {
        in.push_back({"xq", Tensor::from_vector<uint8_t>({S, C}, xq)});
      }
      if (std::string(operand) == "side") {
        std::vector<float> r = testing::randn(S * C, rng);
        const float specials[] = {NAN, INFINITY, -INFINITY, -0.f, 0.5f * 0.06f, 1e30f, -1e30f};
        std::copy(std::begin(specials), std::end(specials), r.begin() + 30);  // across a vector edge
        in.push_back({"r", Tensor::from_vector<float>({S, C}, r)});
      }
      auto s = Session::CreateFromBytes(model.data(), model.size(), {});
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      std::string variants;
      for (const NodeReport& r : (*s)->inspect()) variants += r.name + ": " + r.kernel + " [" + r.kernel_variant + "]\n";
      EXPECT_NE(variants.find("[dequantize_add_qdq]"), std::string::npos) << variants;
      auto fused = (*s)->Run(in);
      ASSERT_TRUE(fused.ok()) << fused.status().to_string();
      SessionOptions unfused;
      unfused.disabled_passes = {"fuse_elementwise_chain"};
      expect_bit_identical(*fused, run(model, in, unfused));
      SessionOptions twin;
      twin.disabled_kernels = {"fast_elementwise_chain"};
      expect_bit_identical(*fused, run(model, in, twin));
    }
}

// A hand-written chain whose pair is not 8-bit keeps its steps (a table of
// 10^9 codes is not built) and still agrees with its reference twin.
TEST(FuseElementwiseChain, a_pair_wider_than_8_bits_gets_no_code_table) {
  OnnxBuilder b;
  auto* os = b.model().add_opset_import();
  os->set_domain("com.sparsert");
  os->set_version(1);
  b.input("x", onnx::TensorProto::FLOAT, {S, C}).output("y");
  auto& n = b.node("ElementwiseChain", {"x"}, {"y"}, "wide", "com.sparsert");
  OnnxBuilder::ints_attr(n, "ops", {static_cast<int64_t>(ChainOp::kQuantizeDequantize), static_cast<int64_t>(ChainOp::kSigmoid),
                                    static_cast<int64_t>(ChainOp::kMul)});
  OnnxBuilder::ints_attr(n, "operands", {0, 0, 0, 0, static_cast<int64_t>(OperandKind::kConstant), 0});
  OnnxBuilder::floats_attr(n, "constants", {0.07f, 100.f, 0.f, 1e9f, 0, 0, 0, 0, 3.f, 0, 0, 0});
  const std::string model = b.bytes();
  auto s = Session::CreateFromBytes(model.data(), model.size(), {});
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  for (const NodeReport& r : (*s)->inspect()) EXPECT_EQ(r.kernel_variant.find("code_table"), std::string::npos) << r.name;
  std::mt19937 rng(37);
  testing::compare_with_reference(model, {{"x", Tensor::from_vector<float>({S, C}, testing::randn(S * C, rng))}}, 1e-6);
}

TEST(FuseElementwiseChain, a_value_read_outside_ends_the_chain_there) {
  int count = 0;
  auto g = testing::import_and_run(float_chain(true), passes::run_fuse_elementwise_chain, &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 2);  // Add -> Sub -> Mul (its output is read outside), then Div -> ... -> Sub
  EXPECT_EQ(testing::count_op(*g, "ElementwiseChain"), 2);
  EXPECT_EQ(testing::count_op(*g, "Neg"), 1);
  std::mt19937 rng(35);
  testing::expect_same_outputs(float_chain(true), float_inputs(rng), 1e-6);
}

}  // namespace
}  // namespace sparsert
