// oneDNN Conv against the reference kernel: random configurations (groups,
// depthwise, strides, dilations, asymmetric pads, odd sizes, with/without bias),
// on plain NCHW (the nchwc_layout pass off) and as NchwcConv chains in the
// blocked layout (tests/ops/nchwc_impls_test.cc).
#include <gtest/gtest.h>

#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::numel;
using testing::OnnxBuilder;
using testing::randn;

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, group;
  std::vector<int64_t> strides, dilations, pads;
  bool bias;
};

// The plain-layout kernel: the layout pass would turn the Conv into NchwcConv.
SessionOptions plain_layout() {
  SessionOptions o;
  o.disabled_passes = {"nchwc_layout"};
  return o;
}

testing::ImplRun run_case(const ConvCase& k, std::mt19937& rng, const char* auto_pad = nullptr) {
  OnnxBuilder b;
  const std::vector<int64_t> x_shape = {k.n, k.c, k.h, k.w}, w_shape = {k.m, k.c / k.group, k.kh, k.kw};
  b.input("x", onnx::TensorProto::FLOAT, x_shape).output("y");
  b.initializer("w", w_shape, randn(numel(w_shape), rng));
  std::vector<std::string> ins = {"x", "w"};
  if (k.bias) {
    b.initializer("b", {k.m}, randn(k.m, rng));
    ins.push_back("b");
  }
  auto& node = b.node("Conv", ins, {"y"}, "conv");
  OnnxBuilder::int_attr(node, "group", k.group);
  OnnxBuilder::ints_attr(node, "strides", k.strides);
  OnnxBuilder::ints_attr(node, "dilations", k.dilations);
  if (auto_pad) {
    auto* a = node.add_attribute();
    a->set_name("auto_pad");
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(auto_pad);
  } else {
    OnnxBuilder::ints_attr(node, "pads", k.pads);
  }
  return testing::compare_with_reference(b.bytes(), {{"x", Tensor::from_vector<float>(x_shape, randn(numel(x_shape), rng))}},
                                         1e-5, plain_layout());
}

TEST(OnednnConv, matches_reference_on_varied_configurations) {
  std::mt19937 rng(7);
  const ConvCase cases[] = {
      {1, 3, 17, 15, 8, 3, 3, 1, {2, 2}, {1, 1}, {1, 1, 1, 1}, true},     // stem-like, odd sizes
      {2, 16, 9, 9, 16, 3, 3, 16, {1, 1}, {1, 1}, {1, 1, 1, 1}, false},   // depthwise
      {1, 12, 8, 7, 20, 1, 1, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, true},     // pointwise
      {1, 8, 11, 10, 6, 3, 2, 2, {1, 2}, {2, 1}, {2, 0, 1, 1}, true},     // groups, dilation, asymmetric pads
      {3, 5, 6, 6, 7, 5, 5, 1, {3, 3}, {1, 1}, {2, 2, 2, 2}, false},      // large kernel, stride 3
  };
  for (const ConvCase& k : cases) {
    auto r = run_case(k, rng);
    EXPECT_EQ(r.kernels, "onednn_conv_f32 x1") << "c=" << k.c << " m=" << k.m << " group=" << k.group;
  }
}

TEST(OnednnConv, runs_auto_pad_same_with_the_pads_it_implies) {
  std::mt19937 rng(8);
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    // Even kernel and stride 2: SAME_UPPER and SAME_LOWER put the odd pad on different sides.
    auto r = run_case({1, 4, 8, 7, 4, 2, 3, 1, {2, 2}, {1, 1}, {}, true}, rng, mode);
    EXPECT_EQ(r.kernels, "onednn_conv_f32 x1") << mode;
  }
}

}  // namespace
}  // namespace sparsert
