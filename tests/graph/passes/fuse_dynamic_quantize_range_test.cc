#include "graph/passes/fuse_dynamic_quantize_range.h"

#include <random>

#include "graph/passes/fuse_linear_epilogue.h"
#include "ops/linear.h"
#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

constexpr int64_t K = 32, N = 48;

// Two ORT dynamic-int8 linears in a row, W 4x1-pruned to 90%: x -> DQL ->
// MatMulInteger -> Cast -> Mul(scales) -> Add(bias) -> Relu -> h -> DQL -> ... -> y.
std::string two_dynamic_int8_linears() {
  std::mt19937 rng(31);
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"});
  b.output("y");
  auto layer = [&](const std::string& in, int64_t k, int64_t n, const std::string& out, const std::string& p) {
    std::vector<int8_t> w(static_cast<size_t>(k * n), 0);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    for (int64_t r = 0; r < k; ++r)
      for (int64_t c = 0; c < n; c += 4)
        if (u(rng) >= 0.9)
          for (int64_t i = c; i < c + 4; ++i) w[static_cast<size_t>(r * n + i)] = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
    b.raw_initializer(p + "wq", onnx::TensorProto::INT8, {k, n}, std::string(reinterpret_cast<const char*>(w.data()), w.size()));
    b.raw_initializer(p + "wz", onnx::TensorProto::INT8, {}, std::string(1, '\0'));
    b.initializer(p + "ws", {}, {0.0123f});
    b.initializer(p + "bias", {n}, testing::randn(n, rng));
    b.node("DynamicQuantizeLinear", {in}, {p + "xq", p + "xs", p + "xz"}, p + "dql");
    b.node("MatMulInteger", {p + "xq", p + "wq", p + "xz", p + "wz"}, {p + "acc"}, p + "mmi");
    OnnxBuilder::int_attr(b.node("Cast", {p + "acc"}, {p + "accf"}, p + "cast"), "to", onnx::TensorProto::FLOAT);
    b.node("Mul", {p + "xs", p + "ws"}, {p + "s"}, p + "scales");
    b.node("Mul", {p + "accf", p + "s"}, {p + "deq"}, p + "dequant");
    b.node("Add", {p + "deq", p + "bias"}, {p + "biased"}, p + "bias_add");
    b.node("Relu", {p + "biased"}, {out}, p + "relu");
  };
  layer("x", K, N, "h", "l1_");
  layer("h", N, K, "y", "l2_");
  return b.bytes();
}

std::vector<NamedTensor> inputs(int64_t seq) {
  std::mt19937 rng(5);
  return {{"x", Tensor::from_vector<float>({seq, K}, testing::randn(seq * K, rng))}};
}

TEST(FuseDynamicQuantizeRange, the_quantization_of_an_integer_linear_output_takes_its_range) {
  int fused = 0;
  auto g = testing::import_and_run(two_dynamic_int8_linears(), passes::run_fuse_linear_epilogue, &fused);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(fused, 2);
  passes::PassContext ctx;
  auto count = passes::run_fuse_dynamic_quantize_range(*g, ctx);
  ASSERT_TRUE(count.ok()) << count.status().to_string();
  EXPECT_EQ(*count, 1);  // the second layer's input; the first quantizes the graph input
  int plain = 0, ranged = 0;
  for (const Node& n : g->nodes()) {
    if (n.op_type == "IntegerLinear" && n.outputs.size() == 2) {
      EXPECT_EQ(g->value(n.outputs[1]).type.to_string(), "float[2]");
      ASSERT_EQ(g->value(n.outputs[1]).consumers.size(), 1u);
    }
    if (n.op_type != "DynamicQuantizeLinear") continue;
    if (n.domain.empty()) {
      ++plain;
      EXPECT_EQ(n.inputs.size(), 1u);
    } else {
      ++ranged;
      EXPECT_EQ(n.domain, kSparsertDomain);
      ASSERT_EQ(n.inputs.size(), 2u);
      EXPECT_EQ(g->value(n.inputs[0]).name, "h");
      EXPECT_EQ(g->value(n.inputs[1]).producer, g->value(n.inputs[0]).producer) << "the range comes with h";
    }
  }
  EXPECT_EQ(plain, 1);
  EXPECT_EQ(ranged, 1);
  EXPECT_TRUE(g->topological_order().ok());
}

// The same outputs with and without the pass (the range is exact), on every
// ISA cap, 1 and 2 threads, and against the reference plan.
TEST(FuseDynamicQuantizeRange, outputs_are_identical_with_and_without_it) {
  const std::string model = two_dynamic_int8_linears();
  for (const char* isa : {"", "avx2", "generic"})
    for (int threads : {1, 2})
      for (int64_t seq : {1, 7, 70}) {
        SCOPED_TRACE(std::string("isa=") + isa + " threads=" + std::to_string(threads) + " seq=" + std::to_string(seq));
        SessionOptions with, without;
        with.isa = without.isa = isa;
        with.threads = without.threads = threads;
        without.disabled_passes = {"fuse_dynamic_quantize_range"};
        auto a = Session::CreateFromBytes(model.data(), model.size(), with);
        auto b = Session::CreateFromBytes(model.data(), model.size(), without);
        ASSERT_TRUE(a.ok() && b.ok()) << a.status().to_string();
        EXPECT_NE((*a)->kernel_summary().find("sparse_integer_linear_u8s8 x2"), std::string::npos)
            << (*a)->kernel_summary();
        auto ya = (*a)->Run(inputs(seq));
        auto yb = (*b)->Run(inputs(seq));
        ASSERT_TRUE(ya.ok() && yb.ok()) << ya.status().to_string();
        EXPECT_EQ(testing::compare_tensors((*ya)[0].tensor, (*yb)[0].tensor, 0.0), "");
        auto r = testing::compare_with_reference(model, inputs(seq), 1e-5, with);
        EXPECT_FALSE(r.kernels.empty());
      }
}

// com.sparsert DynamicQuantizeLinear(x, range): ONNX's outputs for x when
// given x's range (fast kernel and reference), and a named error for a range
// that does not hold 0.
TEST(DynamicQuantizeLinearWithRange, equals_onnx_dynamic_quantize_linear) {
  std::mt19937 rng(9);
  std::vector<float> xs = testing::randn(1000, rng);
  xs[17] = 0.f;
  float lo = 0.f, hi = 0.f;
  for (float v : xs) lo = std::min(lo, v), hi = std::max(hi, v);
  auto build = [&](bool ranged, float r0, float r1) {
    OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {1000});
    b.output("q", onnx::TensorProto::UINT8).output("s").output("z", onnx::TensorProto::UINT8);
    if (!ranged) {
      b.node("DynamicQuantizeLinear", {"x"}, {"q", "s", "z"}, "dql");
      return b.bytes();
    }
    auto* os = b.model().add_opset_import();
    os->set_domain("com.sparsert");
    os->set_version(1);
    b.initializer("range", {2}, {r0, r1});
    b.node("DynamicQuantizeLinear", {"x", "range"}, {"q", "s", "z"}, "dql", "com.sparsert");
    return b.bytes();
  };
  const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({1000}, xs)}};
  SessionOptions ref;
  ref.optimization_level = 0;
  ref.disabled_kernels = {"fast_dynamic_quantize_f32"};
  for (const SessionOptions& o : {SessionOptions{}, ref}) {
    const std::string plain = build(false, 0, 0), ranged = build(true, lo, hi);
    auto a = Session::CreateFromBytes(plain.data(), plain.size(), o);
    auto b = Session::CreateFromBytes(ranged.data(), ranged.size(), o);
    ASSERT_TRUE(a.ok() && b.ok()) << a.status().to_string() << " / " << b.status().to_string();
    auto ya = (*a)->Run(in);
    auto yb = (*b)->Run(in);
    ASSERT_TRUE(ya.ok() && yb.ok()) << yb.status().to_string();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(testing::compare_tensors((*yb)[i].tensor, (*ya)[i].tensor, 0.0), "") << i;
    const std::string bad = build(true, 0.5f, hi);
    auto c = Session::CreateFromBytes(bad.data(), bad.size(), o);
    ASSERT_TRUE(c.ok());
    auto yc = (*c)->Run(in);
    ASSERT_FALSE(yc.ok());
    EXPECT_NE(yc.status().message().find("range must be"), std::string::npos) << yc.status().message();
  }
}

}  // namespace
}  // namespace sparsert
