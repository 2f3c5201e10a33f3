// The nchwc_layout pass and the blocked-layout kernels: conv chains (first
// layer on NCHW, depthwise, pointwise, residual adds, ReLU / Clip / Sigmoid,
// channel counts that leave padding lanes) run blocked under every block size
// and agree with the reference plan; the oneDNN kernels agree with their
// reference twins (the same graph with them disabled); what may not be fused
// (a Clip that would turn padding lanes non-zero) stays outside.
#include <gtest/gtest.h>

#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::numel;
using testing::OnnxBuilder;
using testing::randn;

struct ConvSpec {
  int64_t c, m, k, group = 1, stride = 1, dilation = 1;
  bool bias = true;
};

// Adds Conv(in) -> out with random weights; pads keep the size at stride 1.
void add_conv(OnnxBuilder& b, std::mt19937& rng, const std::string& in, const std::string& out, const ConvSpec& s) {
  const std::vector<int64_t> w_shape = {s.m, s.c / s.group, s.k, s.k};
  const std::vector<float> w = randn(numel(w_shape), rng);
  const int64_t p = s.dilation * (s.k - 1) / 2;
  testing::add_conv_node(b, rng, in, out, w_shape, w, s.bias, s.group, s.stride, s.dilation, {p, p, p, p});
}

void add_clip(OnnxBuilder& b, const std::string& in, const std::string& out, float lo, float hi) {
  b.initializer(out + "_lo", {}, {lo});
  b.initializer(out + "_hi", {}, {hi});
  b.node("Clip", {in, out + "_lo", out + "_hi"}, {out}, out);
}

// A MobileNet/ResNet-like chain with 12- and 20-channel tensors (padding lanes
// under every block), two graph outputs read from inside the chain, a residual
// Add of two convs, and a Clip excluding 0 that must stay out of the region.
std::string chain_model(std::mt19937& rng) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {2, 3, 13, 11});
  add_conv(b, rng, "x", "stem", {3, 12, 3, 1, 2});  // NCHW input, stride 2
  add_clip(b, "stem", "stem_act", 0.f, 6.f);
  add_conv(b, rng, "stem_act", "dw", {12, 12, 3, 12, 1, 1, false});  // depthwise
  b.node("Relu", {"dw"}, {"dw_act"}, "dw_relu");
  add_conv(b, rng, "dw_act", "pw", {12, 20, 1});
  add_conv(b, rng, "stem_act", "skip", {12, 20, 1, 1, 1, 1, false});
  b.node("Add", {"pw", "skip"}, {"sum"}, "residual");
  b.node("Relu", {"sum"}, {"sum_act"}, "sum_relu");
  add_conv(b, rng, "sum_act", "grouped", {20, 16, 3, 4, 1, 2});  // groups, dilation
  b.node("Sigmoid", {"grouped"}, {"gate"}, "gate");              // 16 channels: no padding at block 4, 8, 16
  b.node("Mul", {"gate", "grouped"}, {"gated"}, "gated");
  add_conv(b, rng, "gated", "tail", {16, 12, 3});
  add_clip(b, "tail", "tail_act", 0.5f, 6.f);  // excludes 0: padding lanes of 12 channels would turn 0.5
  b.node("GlobalAveragePool", {"tail_act"}, {"pooled"}, "pool");
  b.output("pooled").output("stem_act").output("sum_act");
  return b.bytes();
}

std::vector<NamedTensor> chain_inputs(std::mt19937& rng) {
  return {{"x", Tensor::from_vector<float>({2, 3, 13, 11}, randn(2 * 3 * 13 * 11, rng))}};
}

SessionOptions with_block(int block) {
  SessionOptions o;
  o.nchwc_block = block;
  return o;
}

TEST(NchwcLayout, conv_chain_runs_blocked_with_its_epilogues_fused) {
  std::mt19937 rng(11);
  const std::string model = chain_model(rng);
  const auto inputs = chain_inputs(rng);
  for (int block : {4, 8, 16}) {
    SCOPED_TRACE("block " + std::to_string(block));
    auto r = testing::compare_with_reference(model, inputs, 1e-5, with_block(block));
    EXPECT_EQ(r.kernels.find("onednn_nchwc_conv_f32 x6"), 0u) << r.kernels;
    auto s = Session::CreateFromBytes(model.data(), model.size(), with_block(block));
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    const std::string ops = (*s)->op_summary();
    // Fused: stem's Clip, dw's ReLU, the residual Add and its ReLU. In the
    // region: Sigmoid and Mul (one ElementwiseChain on the blocked tensors).
    // Outside: the pool, and the Clip excluding 0 unless 12 channels fill whole blocks.
    EXPECT_NE(ops.find("NchwcConv x6"), std::string::npos) << ops;
    EXPECT_EQ(ops.find("Clip x1") != std::string::npos, 12 % block != 0) << ops;
    EXPECT_EQ(ops.find("Relu"), std::string::npos) << ops;
    EXPECT_EQ(ops.find("Add"), std::string::npos) << ops;
    EXPECT_NE(ops.find("ElementwiseChain x1"), std::string::npos) << ops;
    // Out: stem_act and sum_act (graph outputs) and tail (to the Clip); never in.
    EXPECT_NE(ops.find("ReorderFromNchwc x3"), std::string::npos) << ops;
    EXPECT_EQ(ops.find("ReorderToNchwc"), std::string::npos) << ops;
  }
}

TEST(NchwcLayout, onednn_kernels_match_their_reference_twins) {
  std::mt19937 rng(12);
  const std::string model = chain_model(rng);
  const auto inputs = chain_inputs(rng);
  for (int block : {8, 16}) {
    SCOPED_TRACE("block " + std::to_string(block));
    SessionOptions twin = with_block(block);
    twin.disabled_kernels = {"onednn_nchwc_conv_f32", "onednn_reorder_nchwc"};
    auto fast = Session::CreateFromBytes(model.data(), model.size(), with_block(block));
    auto ref = Session::CreateFromBytes(model.data(), model.size(), twin);
    ASSERT_TRUE(fast.ok() && ref.ok());
    EXPECT_EQ((*ref)->kernel_summary().find("onednn_nchwc"), std::string::npos) << (*ref)->kernel_summary();
    bool saw_reason = false;
    for (const std::string& line : (*ref)->kernel_report())
      saw_reason |= line.find("onednn_nchwc_conv_f32: disabled by the session options") != std::string::npos;
    EXPECT_TRUE(saw_reason);
    auto got = (*fast)->Run(inputs);
    auto want = (*ref)->Run(inputs);
    ASSERT_TRUE(got.ok() && want.ok());
    for (size_t i = 0; i < got->size(); ++i)
      EXPECT_EQ(testing::compare_tensors((*got)[i].tensor, (*want)[i].tensor, 1e-5), "") << "output " << i;
  }
}

TEST(NchwcLayout, random_convs_with_residual_and_activation_match_reference) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int64_t> chan(1, 40), size(1, 12), pick(0, 3);
  for (int trial = 0; trial < 24; ++trial) {
    const int64_t c = chan(rng), h = size(rng), w = size(rng);
    ConvSpec s{c, chan(rng), 1 + 2 * (pick(rng) % 2)};
    switch (pick(rng)) {
      case 0: s.group = c; s.m = c; break;   // depthwise
      case 1: s.group = 1; break;
      case 2: s.stride = 2; break;
      default: s.dilation = 2; break;
    }
    const int act = static_cast<int>(pick(rng));  // none, relu, clip(-1, 1), clip(0.25, 2)
    const bool residual = pick(rng) % 2 == 0 && s.stride == 1;
    OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {1, c, h, w});
    add_conv(b, rng, "x", "y", s);
    std::string last = "y";
    if (residual) {
      add_conv(b, rng, "x", "r", {c, s.m, 1});
      b.node("Add", {"r", last}, {"sum"}, "add");
      last = "sum";
    }
    if (act == 1) b.node("Relu", {last}, {"act"}, "relu");
    if (act == 2) add_clip(b, last, "act", -1.f, 1.f);
    if (act == 3) add_clip(b, last, "act", 0.25f, 2.f);
    b.output(act ? "act" : last);
    const std::vector<int64_t> x_shape = {1, c, h, w};
    const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>(x_shape, randn(numel(x_shape), rng))}};
    for (int block : {8, 16}) {
      SCOPED_TRACE("trial " + std::to_string(trial) + " c=" + std::to_string(c) + " m=" + std::to_string(s.m) +
                   " k=" + std::to_string(s.k) + " group=" + std::to_string(s.group) + " act=" + std::to_string(act) +
                   " residual=" + std::to_string(residual) + " block=" + std::to_string(block));
      auto r = testing::compare_with_reference(b.bytes(), in, 1e-5, with_block(block));
      EXPECT_NE(r.kernels.find("onednn_nchwc_conv_f32"), std::string::npos) << r.kernels;
    }
  }
}

TEST(NchwcLayout, is_off_below_avx2_and_rejects_odd_blocks) {
  std::mt19937 rng(14);
  const std::string model = chain_model(rng);
  SessionOptions generic;
  generic.isa = "generic";
  auto s = Session::CreateFromBytes(model.data(), model.size(), generic);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->op_summary().find("Nchwc"), std::string::npos) << (*s)->op_summary();
  auto bad = Session::CreateFromBytes(model.data(), model.size(), with_block(6));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("nchwc_block must be 0 (by ISA), 4, 8 or 16, got 6"), std::string::npos)
      << bad.status().message();
}

// conv -> MaxPool -> conv: the pool runs blocked (NchwcMaxPool: no reorder out
// and back), on windows with strides, pads, dilations and ceil_mode, channel
// counts that leave padding lanes, blocks 4 (reference kernel) / 8 / 16; a pool
// whose Indices are wanted stays plain.
TEST(NchwcLayout, max_pools_run_blocked_and_match_the_reference) {
  std::mt19937 rng(16);
  struct Case {
    int64_t c;
    std::vector<int64_t> kernel, strides, pads, dilations;
    int64_t ceil_mode;
  };
  const Case cases[] = {
      {16, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},  // ResNet's stem pool
      {12, {2, 3}, {1, 2}, {0, 1, 1, 0}, {1, 1}, 1},
      {20, {3, 3}, {2, 1}, {2, 2, 2, 2}, {2, 2}, 0},
  };
  for (const Case& c : cases) {
    OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {2, 3, 11, 13});
    add_conv(b, rng, "x", "a", {3, c.c, 3});
    auto& n = b.node("MaxPool", {"a"}, {"p"}, "pool");
    OnnxBuilder::ints_attr(n, "kernel_shape", c.kernel);
    OnnxBuilder::ints_attr(n, "strides", c.strides);
    OnnxBuilder::ints_attr(n, "pads", c.pads);
    OnnxBuilder::ints_attr(n, "dilations", c.dilations);
    OnnxBuilder::int_attr(n, "ceil_mode", c.ceil_mode);
    add_conv(b, rng, "p", "y", {c.c, 8, 1});
    b.output("y");
    const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({2, 3, 11, 13}, randn(2 * 3 * 11 * 13, rng))}};
    for (int block : {4, 8, 16}) {
      SCOPED_TRACE("channels " + std::to_string(c.c) + " block " + std::to_string(block));
      auto r = testing::compare_with_reference(b.bytes(), in, 1e-5, with_block(block));
      EXPECT_EQ(r.kernels.find("fast_nchwc_max_pool_f32") != std::string::npos, block != 4) << r.kernels;
      auto s = Session::CreateFromBytes(b.bytes().data(), b.bytes().size(), with_block(block));
      ASSERT_TRUE(s.ok()) << s.status().to_string();
      const std::string ops = (*s)->op_summary();
      EXPECT_NE(ops.find("NchwcMaxPool x1"), std::string::npos) << ops;
      EXPECT_NE(ops.find("ReorderFromNchwc x1"), std::string::npos) << ops;  // only the output's
      EXPECT_EQ(ops.find("ReorderToNchwc"), std::string::npos) << ops;
    }
  }
  // With its Indices output wanted, the pool stays a plain MaxPool outside the region.
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {1, 16, 8, 8});
  add_conv(b, rng, "x", "a", {16, 16, 3});
  auto& n = b.node("MaxPool", {"a"}, {"p", "i"}, "pool");
  OnnxBuilder::ints_attr(n, "kernel_shape", {2, 2});
  b.output("p").output("i", onnx::TensorProto::INT64);
  auto s = Session::CreateFromBytes(b.bytes().data(), b.bytes().size(), with_block(16));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ((*s)->op_summary().find("NchwcMaxPool"), std::string::npos) << (*s)->op_summary();
}

TEST(NchwcLayout, internal_ops_report_bad_inputs) {
  // A model may name the internal ops directly; wrong shapes get errors naming node and shapes.
  OnnxBuilder b;
  auto* os = b.model().add_opset_import();
  os->set_domain("com.sparsert");
  os->set_version(1);
  b.input("x", onnx::TensorProto::FLOAT, {1, 2, 3, 3, 8});
  auto& n = b.node("ReorderFromNchwc", {"x"}, {"y"}, "from", "com.sparsert");
  OnnxBuilder::int_attr(n, "block", 8);
  OnnxBuilder::int_attr(n, "channels", 24);  // needs 3 blocks, x has 2
  b.output("y");
  const std::string model = b.bytes();
  SessionOptions o;
  auto s = Session::CreateFromBytes(model.data(), model.size(), o);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  std::mt19937 rng(15);
  auto out = (*s)->Run({{"x", Tensor::from_vector<float>({1, 2, 3, 3, 8}, randn(144, rng))}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("node 'from'"), std::string::npos) << out.status().message();
  EXPECT_NE(out.status().message().find("is not 24 channels blocked by 8"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace sparsert
