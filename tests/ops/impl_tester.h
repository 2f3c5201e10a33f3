// Shared by the implementation tests: run a model with kernels chosen (level 99)
// and as the reference plan (level 0) on the same inputs, compare, and report
// which kernels were chosen and why others declined.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "runtime/session.h"
#include "tests/onnx_builder.h"
#include "tests/test_util.h"

namespace sparsert::testing {

inline std::vector<float> randn(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

inline int64_t numel(const std::vector<int64_t>& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// Adds Conv(in) -> out with weight w of w_shape ([M, C / group, kh, kw]), a
// random bias of M values when `bias`, and the given group, stride,
// dilation and pads (top, left, bottom, right).
inline void add_conv_node(OnnxBuilder& b, std::mt19937& rng, const std::string& in, const std::string& out,
                          const std::vector<int64_t>& w_shape, const std::vector<float>& w, bool bias, int64_t group,
                          int64_t stride, int64_t dilation, const std::vector<int64_t>& pads) {
  b.initializer(out + "_w", w_shape, w);
  std::vector<std::string> ins = {in, out + "_w"};
  if (bias) {
    b.initializer(out + "_b", {w_shape[0]}, randn(w_shape[0], rng));
    ins.push_back(out + "_b");
  }
  auto& n = b.node("Conv", ins, {out}, out);
  OnnxBuilder::int_attr(n, "group", group);
  OnnxBuilder::ints_attr(n, "strides", {stride, stride});
  OnnxBuilder::ints_attr(n, "dilations", {dilation, dilation});
  OnnxBuilder::ints_attr(n, "pads", pads);
}

struct ImplRun {
  std::string kernels;              // Session::kernel_summary() of the optimized session
  std::vector<std::string> report;  // Session::kernel_report()
};

inline ImplRun compare_with_reference(const std::string& bytes, const std::vector<NamedTensor>& inputs,
                                      double tol = 1e-5, const SessionOptions& fast_opts = {}) {
  SessionOptions ref_opts;
  ref_opts.optimization_level = 0;
  auto fast_s = Session::CreateFromBytes(bytes.data(), bytes.size(), fast_opts);
  auto ref_s = Session::CreateFromBytes(bytes.data(), bytes.size(), ref_opts);
  EXPECT_TRUE(fast_s.ok()) << fast_s.status().to_string();
  EXPECT_TRUE(ref_s.ok()) << ref_s.status().to_string();
  if (!fast_s.ok() || !ref_s.ok()) return {};
  auto got = (*fast_s)->Run(inputs);
  auto want = (*ref_s)->Run(inputs);
  EXPECT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_TRUE(want.ok()) << want.status().to_string();
  if (got.ok() && want.ok()) {
    for (size_t i = 0; i < got->size(); ++i)
      EXPECT_EQ(compare_tensors((*got)[i].tensor, (*want)[i].tensor, tol), "") << "output " << i;
  }
  return {(*fast_s)->kernel_summary(), (*fast_s)->kernel_report()};
}

// For outputs behind Q/DQ pairs, where a value on a rounding edge may land
// on the neighbouring step when the sums run in another order: every element
// within `step` of want, and at most max(2, 0.2%) of them more than 1e-5 of
// the output scale off. Returns "" or what failed.
inline std::string within_one_quantization_step(const Tensor& got, const Tensor& want, double step) {
  if (got.shape() != want.shape() || got.dtype() != DType::kFloat32 || want.dtype() != DType::kFloat32)
    return "got " + got.type_string() + ", want " + want.type_string();
  double scale = 1.0;
  for (int64_t i = 0; i < want.num_elements(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(want.data<float>()[i])));
  const double tight = 1e-5 * scale;
  int64_t off = 0;
  for (int64_t i = 0; i < want.num_elements(); ++i) {
    const double d = std::fabs(static_cast<double>(got.data<float>()[i]) - want.data<float>()[i]);
    if (!(d <= tight + step))
      return "element " + std::to_string(i) + ": " + std::to_string(got.data<float>()[i]) + " vs " +
             std::to_string(want.data<float>()[i]) + ", more than a step (" + std::to_string(step) + ") apart";
    off += d > tight;
  }
  if (off > std::max<int64_t>(2, want.num_elements() / 500))
    return std::to_string(off) + " of " + std::to_string(want.num_elements()) + " elements a step off";
  return "";
}

}  // namespace sparsert::testing
