// The sparse convolution (ops/sparse/sparse_conv.cc) inside sessions: pruned
// convolutions in NCHWc chains run on the SpMM kernels with their bias,
// residual Sum and ReLU or Clip fused and agree with the reference plan over
// windows, strides, dilations, asymmetric pads, channel counts that leave
// padding lanes, batches, blocks and threads; grouped convolutions and dense
// weights stay on oneDNN, each with its reason.
#include <gtest/gtest.h>

#include <array>
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

struct Geometry {
  int64_t c, m, kh, kw, stride = 1, dilation = 1;
  std::array<int64_t, 4> pads = {0, 0, 0, 0};  // top, left, bottom, right
  int64_t group = 1;
  bool bias = true;
};

std::vector<float> pruned(int64_t count, double sparsity, std::mt19937& rng) {
  std::vector<float> w = randn(count, rng);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (float& v : w)
    if (u(rng) < sparsity) v = 0.f;
  return w;
}

void add_conv(OnnxBuilder& b, std::mt19937& rng, const std::string& in, const std::string& out, const Geometry& g,
              double sparsity) {
  const std::vector<int64_t> w_shape = {g.m, g.c / g.group, g.kh, g.kw};
  const std::vector<float> w = pruned(numel(w_shape), sparsity, rng);
  testing::add_conv_node(b, rng, in, out, w_shape, w, g.bias, g.group, g.stride, g.dilation,
                         {g.pads[0], g.pads[1], g.pads[2], g.pads[3]});
}

// x -> pre (1x1, c channels; makes the tested conv's input blocked) -> conv
// [-> + residual (another conv of pre, same geometry)] [-> Relu | Clip].
std::string conv_model(std::mt19937& rng, const std::vector<int64_t>& x_shape, const Geometry& g, double sparsity,
                       bool residual, const std::string& act) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, x_shape);
  add_conv(b, rng, "x", "pre", {x_shape[1], g.c, 1, 1}, 0.0);
  add_conv(b, rng, "pre", "y", g, sparsity);
  std::string last = "y";
  if (residual) {  // (a second conv of the same geometry: its output has y's shape)
    Geometry rg = g;
    rg.group = 1;
    add_conv(b, rng, "pre", "r", rg, 0.5);
    b.node("Add", {last, "r"}, {"sum"}, "add");
    last = "sum";
  }
  if (act == "relu") {
    b.node("Relu", {last}, {"act"}, "relu");
    last = "act";
  } else if (act == "clip" || act == "clip_0.5") {  // ReLU6, or bounds that exclude 0
    b.initializer("lo", {}, {act == "clip" ? 0.f : 0.5f});
    b.initializer("hi", {}, {6.f});
    b.node("Clip", {last, "lo", "hi"}, {"act"}, "clip");
    last = "act";
  }
  b.output(last);
  return b.bytes();
}

SessionOptions options(int block, int threads, const std::string& sparse = "always") {
  SessionOptions o;
  o.nchwc_block = block;
  o.threads = threads;
  o.sparse_kernels = sparse;
  return o;
}

// A line of the kernel report naming the implementation and the text.
bool mentions(const std::vector<std::string>& report, const std::string& impl, const std::string& text) {
  for (const std::string& line : report)
    if (line.find(impl + ": ") != std::string::npos && line.find(text) != std::string::npos) return true;
  return false;
}

TEST(SparseConv, pruned_convolutions_run_sparse_and_match_the_reference) {
  if (!jit::may_use(jit::kIsaAvx2, jit::default_isa_cap()))
    GTEST_SKIP() << "no AVX2: the NCHWc layout (and so the sparse convolution) is off";
  std::mt19937 rng(21);
  std::uniform_int_distribution<int64_t> chan(1, 40), size(1, 13), pad(0, 2), pick(0, 3);
  for (int trial = 0; trial < 20; ++trial) {
    Geometry g{chan(rng), chan(rng), 1 + 2 * (pick(rng) % 3 == 0 ? 1 : pick(rng) % 2), 1};
    g.kw = trial % 5 == 4 ? 2 : g.kh;  // some non-square, even windows
    g.stride = pick(rng) == 0 ? 2 : 1;
    g.dilation = pick(rng) == 1 ? 2 : 1;
    g.pads = {pad(rng), pad(rng), pad(rng), pad(rng)};
    g.bias = pick(rng) != 0;
    const int64_t batch = 1 + trial % 2, h = size(rng) + g.dilation * (g.kh - 1), w = size(rng) + g.dilation * (g.kw - 1);
    const bool residual = pick(rng) % 2 == 0;
    const std::string act = trial % 7 == 5 ? "clip_0.5" : pick(rng) == 0 ? "clip" : pick(rng) % 2 == 0 ? "relu" : "none";
    const double sparsity = trial == 3 ? 1.0 : trial % 4 == 0 ? 0.5 : 0.9;  // (an all-zero weight once)
    const std::vector<int64_t> x_shape = {batch, 3 + trial % 20, h, w};
    const std::string model = conv_model(rng, x_shape, g, sparsity, residual, act);
    const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>(x_shape, randn(numel(x_shape), rng))}};
    for (int block : {4, 8, 16})
      for (int threads : {1, 2}) {
        SCOPED_TRACE("trial " + std::to_string(trial) + " c=" + std::to_string(g.c) + " m=" + std::to_string(g.m) +
                     " k=" + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " stride " + std::to_string(g.stride) +
                     " dilation " + std::to_string(g.dilation) + " residual " + std::to_string(residual) + " " + act +
                     " block " + std::to_string(block) + " threads " + std::to_string(threads));
        auto r = testing::compare_with_reference(model, in, 1e-5, options(block, threads));
        EXPECT_NE(r.kernels.find("sparse_nchwc_conv_f32"), std::string::npos) << r.kernels;
      }
  }
}

TEST(SparseConv, grouped_and_dense_convolutions_stay_on_onednn_with_their_reason) {
  if (!jit::may_use(jit::kIsaAvx2, jit::default_isa_cap()))
    GTEST_SKIP() << "no AVX2: the NCHWc layout (and so the sparse convolution) is off";
  std::mt19937 rng(22);
  const std::vector<int64_t> x_shape = {1, 3, 9, 9};  // (pre reads plain NCHW: on oneDNN)
  const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>(x_shape, randn(numel(x_shape), rng))}};
  struct Case {
    Geometry g;
    double sparsity;
    std::string act, sparse, reason;
  } cases[] = {
      {{16, 16, 3, 3, 1, 1, {1, 1, 1, 1}, 16}, 0.9, "none", "always", "grouped convolution (group 16)"},
      {{16, 32, 3, 3, 1, 1, {1, 1, 1, 1}}, 0.0, "relu", "auto", "dense is faster: sparsity 0.000"},
      {{16, 24, 3, 3, 1, 1, {1, 1, 1, 1}}, 0.95, "relu", "never", "sparse kernels disabled by the session options"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reason);
    const std::string model = conv_model(rng, x_shape, c.g, c.sparsity, false, c.act);
    auto r = testing::compare_with_reference(model, in, 1e-5, options(16, 1, c.sparse));
    EXPECT_EQ(r.kernels.find("sparse_nchwc_conv_f32"), std::string::npos) << r.kernels;
    EXPECT_TRUE(mentions(r.report, "sparse_nchwc_conv_f32", c.reason)) << ::testing::PrintToString(r.report);
  }
  // ... and a pruned one under the cost model runs sparse.
  const std::string pruned_model = conv_model(rng, x_shape, {16, 32, 3, 3, 1, 1, {1, 1, 1, 1}}, 0.95, false, "relu");
  auto r = testing::compare_with_reference(pruned_model, in, 1e-5, options(16, 1, "auto"));
  EXPECT_NE(r.kernels.find("sparse_nchwc_conv_f32"), std::string::npos) << r.kernels;
}

}  // namespace
}  // namespace sparsert
