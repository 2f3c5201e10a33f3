// The fast (polynomial) float kernels against their exact reference twins, over
// wide input ranges and odd sizes; also checks the fast kernel really was chosen.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "jit/isa.h"
#include "ops/fast/vector_math.h"
#include "ops/quant_util.h"
#include "runtime/session.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"
#include "tests/test_util.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

TEST(FastMath, exp_matches_std_exp) {
  double worst = 0;
  for (float x = -87.f; x <= 88.f; x += 0.0137f) {
    const double rel = std::fabs(fast::exp_f32(x) - std::exp(static_cast<double>(x))) / std::exp(static_cast<double>(x));
    worst = std::max(worst, rel);
  }
  EXPECT_LT(worst, 4e-7);
  EXPECT_EQ(fast::exp_f32(-1000.f), fast::exp_f32(-87.3365478515625f));  // clamped, not garbage
  EXPECT_TRUE(std::isfinite(fast::exp_f32(1000.f)));
}

TEST(FastRequantize, bit_identical_to_the_reference_incl_ties_and_saturation) {
  std::mt19937 rng(5);
  std::vector<int32_t> acc = {0, 1, -1, 5, 7, -7, 2147483647, -2147483647 - 1, 1000000000, -1000000000};
  for (int i = 0; i < 20000; ++i) acc.push_back(static_cast<int32_t>(rng() % 200001) - 100000);
  const int64_t cols = 7, rows = static_cast<int64_t>(acc.size()) / cols;
  std::vector<float> col_mult(cols);
  for (float& m : col_mult) m = 1e-4f * static_cast<float>(1 + rng() % 5000);
  // mult 0.5 and 0.25 put exact .5 ties on odd accumulators: half-to-even decides them.
  for (float mult : {0.5f, 0.25f, 0.0123f, 3.7f}) {
    for (int32_t zp : {0, 128, 255}) {
      std::vector<uint8_t> got(acc.size());
      fast::requantize_u8_array(acc.data(), static_cast<int64_t>(acc.size()), mult, zp, got.data());
      for (size_t i = 0; i < acc.size(); ++i)
        ASSERT_EQ(got[i], requantize<uint8_t>(acc[i], mult, zp)) << "acc " << acc[i] << " mult " << mult << " zp " << zp;
      fast::requantize_u8_rows(acc.data(), rows, cols, col_mult.data(), zp, got.data());
      for (int64_t i = 0; i < rows * cols; ++i)
        ASSERT_EQ(got[i], requantize<uint8_t>(acc[i], col_mult[i % cols], zp)) << "acc " << acc[i] << " zp " << zp;
    }
  }
}

// Each wide build of the array loops against the baseline build
// (tests/ops/vector_math_build_check.inc, once per build).
namespace avx2_build {
namespace wide = fast::avx2;
#include "tests/ops/vector_math_build_check.inc"
}  // namespace avx2_build
namespace avx512_build {
namespace wide = fast::avx512;
#include "tests/ops/vector_math_build_check.inc"
}  // namespace avx512_build

TEST(VectorMath, avx2_build_is_bit_identical_to_the_baseline_build) {
  if (!jit::may_use(jit::kIsaAvx2, jit::default_isa_cap())) GTEST_SKIP() << "no AVX2 on this machine";
  avx2_build::check_bit_identical_to_the_baseline_build();
}

TEST(VectorMath, avx512_build_is_bit_identical_to_the_baseline_build) {
  if (!jit::may_use(jit::kIsaAvx512, jit::default_isa_cap())) GTEST_SKIP() << "no AVX-512 on this machine";
  avx512_build::check_bit_identical_to_the_baseline_build();
}

// The lookups with AVX512_VBMI's byte permutes give the baseline build's
// bytes: codes across both permute halves, the NaN entry, ties, saturation,
// u8, s8 and a narrower code range, blocks of 64 and their tails; alone and
// after DequantizeLinear -> Add.
TEST(VectorMath, vbmi_lookup_is_the_baseline_lookup) {
  if (!jit::may_use(jit::kIsaAvx512Vbmi, jit::default_isa_cap())) GTEST_SKIP() << "no AVX512_VBMI on this machine";
  std::mt19937 rng(12);
  std::normal_distribution<float> d(0.f, 3.f);
  std::vector<float> x(4099);
  for (float& v : x) v = d(rng);
  const float specials[] = {NAN, INFINITY, -INFINITY, -0.f, 0.f, 0.015f, -0.015f, 0.045f, 1e30f, -1e30f, NAN};
  std::copy(std::begin(specials), std::end(specials), x.begin() + 58);  // across the first 64-value block edge
  for (const fast::QdqStep& q : {fast::QdqStep{0.03f, 128.f, 0.f, 255.f}, fast::QdqStep{0.03f, -3.f, -128.f, 127.f},
                                 fast::QdqStep{0.01f, 0.f, 0.f, 127.f}}) {
    const size_t entries = static_cast<size_t>(q.qhi - q.qlo) + 2;
    std::vector<uint8_t> table(entries);
    for (size_t i = 0; i < entries; ++i) table[i] = static_cast<uint8_t>(i * 89 + 7);
    for (int64_t n : {1, 63, 64, 65, 200, 4099}) {
      std::vector<uint8_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
      fast::baseline::quantized_lookup_u8(x.data(), n, q, table.data(), want.data());
      fast::avx512::quantized_lookup_u8_vbmi(x.data(), n, q, table.data(), got.data());
      ASSERT_EQ(got, want) << "n=" << n << " qlo=" << q.qlo << " qhi=" << q.qhi;
      // DequantizeLinear -> Add (x as the side operand, or a constant) first.
      std::vector<uint8_t> codes(static_cast<size_t>(n));
      for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<uint8_t>(i * 53 + 1);
      const std::vector<int8_t> signed_codes(codes.begin(), codes.end());
      for (const float* side : {static_cast<const float*>(x.data()), static_cast<const float*>(nullptr)}) {
        fast::baseline::dequantize_add_lookup_u8(codes.data(), n, 0.02f, 128.f, side, 0.7f, q, table.data(), want.data());
        fast::avx512::dequantize_add_lookup_u8_vbmi(codes.data(), n, 0.02f, 128.f, side, 0.7f, q, table.data(), got.data());
        ASSERT_EQ(got, want) << "u8 in, n=" << n << " side " << (side != nullptr);
        fast::baseline::dequantize_add_lookup_s8(signed_codes.data(), n, 0.02f, -5.f, side, 0.7f, q, table.data(), want.data());
        fast::avx512::dequantize_add_lookup_s8_vbmi(signed_codes.data(), n, 0.02f, -5.f, side, 0.7f, q, table.data(), got.data());
        ASSERT_EQ(got, want) << "s8 in, n=" << n << " side " << (side != nullptr);
      }
    }
  }
}

// The three-pass GELU of the SpMM epilogue gives the one-pass formula's
// floats (the epilogue builds are compared with each other in spmm_test).
TEST(FastMath, gelu_in_place_is_the_one_pass_formula) {
  std::mt19937 rng(8);
  std::normal_distribution<float> d(0.f, 5.f);
  std::vector<float> x(1000);
  for (float& v : x) v = d(rng);
  const float specials[] = {NAN, INFINITY, -INFINITY, -0.f, 0.f, 1e-30f, -13.5f, 13.5f, 200.f, -200.f};
  std::copy(std::begin(specials), std::end(specials), x.begin() + 61);  // across the 64-value block edge
  for (int64_t n : {1, 7, 64, 65, 1000}) {
    std::vector<float> got(x.begin(), x.begin() + n);
    fast::gelu_erf_in_place(got.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const float want = (x[i] * (1.f + fast::erf_f32(x[i] / 1.41421356237309505f))) * 0.5f;
      ASSERT_EQ(std::memcmp(&got[i], &want, sizeof want), 0) << "x=" << x[i] << " got " << got[i] << " want " << want;
    }
  }
}

TEST(FastMath, erf_matches_std_erf) {
  double worst = 0;
  for (float x = -8.f; x <= 8.f; x += 0.00731f) {
    worst = std::max(worst, std::fabs(fast::erf_f32(x) - std::erf(double{x})));
    ASSERT_LE(std::fabs(fast::erf_f32(x)), 1.f) << x;  // the rational form alone overshoots 1
  }
  EXPECT_LT(worst, 4e-7);  // 3.4e-7 measured over [-5, 5] (5.7 ulp)
  EXPECT_TRUE(std::isnan(fast::erf_f32(NAN)));
  EXPECT_EQ(fast::erf_f32(INFINITY), 1.f);
  EXPECT_EQ(fast::erf_f32(-INFINITY), -1.f);
  EXPECT_EQ(fast::erf_f32(0.f), 0.f);
}

struct Case {
  const char* op;
  std::vector<int64_t> shape;
  float range;  // inputs uniform in [-range, range]
  double tol;   // relative to output scale
};

class FastVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(FastVsReference, agrees_and_is_chosen) {
  const Case& c = GetParam();
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, c.shape).output("y");
  b.node(c.op, {"x"}, {"y"}, "op");
  std::string bytes = b.bytes();
  SessionOptions fast_opts, ref_opts;
  ref_opts.optimization_level = 0;
  auto fast_s = Session::CreateFromBytes(bytes.data(), bytes.size(), fast_opts);
  auto ref_s = Session::CreateFromBytes(bytes.data(), bytes.size(), ref_opts);
  ASSERT_TRUE(fast_s.ok() && ref_s.ok());
  EXPECT_NE((*fast_s)->kernel_summary().find("fast_"), std::string::npos) << (*fast_s)->kernel_summary();
  EXPECT_EQ((*ref_s)->kernel_summary(), "reference x1");
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-c.range, c.range);
  auto x = Tensor::allocate(DType::kFloat32, c.shape);
  ASSERT_TRUE(x.ok());
  for (int64_t i = 0; i < x->num_elements(); ++i) x->data<float>()[i] = dist(rng);
  if (x->num_elements() > 2) {
    x->data<float>()[0] = 0.f;
    x->data<float>()[1] = -c.range * 3;  // beyond the range: saturation
  }
  auto got = (*fast_s)->Run({{"x", *x}});
  auto want = (*ref_s)->Run({{"x", *x}});
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ(testing::compare_tensors((*got)[0].tensor, (*want)[0].tensor, c.tol), "");
}

INSTANTIATE_TEST_SUITE_P(
    Ops, FastVsReference,
    ::testing::Values(Case{"Erf", {3, 37}, 6.f, 5e-7}, Case{"Erf", {1}, 0.5f, 5e-7},
                      Case{"Sigmoid", {5, 13}, 30.f, 3e-7}, Case{"Gelu", {2, 3, 17}, 10.f, 1e-6},
                      Case{"Softmax", {4, 129}, 20.f, 1e-6}, Case{"Softmax", {2, 3, 1}, 5.f, 1e-6},
                      Case{"Softmax", {7}, 80.f, 1e-6}, Case{"Relu", {3, 1001}, 5.f, 0.0},
                      Case{"Clip", {2, 33}, 5.f, 0.0}),
    [](const ::testing::TestParamInfo<Case>& i) {
      std::string s = std::string(i.param.op) + "_" + std::to_string(i.index);
      return s;
    });

}  // namespace
}  // namespace sparsert

namespace sparsert {
namespace {

// Clip with constant bounds (ReLU6 as torch exports it), against the reference,
// including NaN and infinities.
TEST(FastClip, relu6_matches_reference_and_is_chosen) {
  testing::OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {5, 77}).output("y");
  b.initializer("lo", {}, {0.f});
  b.initializer("hi", {}, {6.f});
  b.node("Clip", {"x", "lo", "hi"}, {"y"}, "relu6");
  std::string bytes = b.bytes();
  SessionOptions ref_opts;
  ref_opts.optimization_level = 0;
  auto fast_s = Session::CreateFromBytes(bytes.data(), bytes.size());
  auto ref_s = Session::CreateFromBytes(bytes.data(), bytes.size(), ref_opts);
  ASSERT_TRUE(fast_s.ok() && ref_s.ok());
  EXPECT_EQ((*fast_s)->kernel_summary(), "fast_clip_f32 x1");
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-10.f, 10.f);
  auto x = Tensor::allocate(DType::kFloat32, {5, 77});
  ASSERT_TRUE(x.ok());
  for (int64_t i = 0; i < x->num_elements(); ++i) x->data<float>()[i] = dist(rng);
  x->data<float>()[3] = INFINITY;
  x->data<float>()[4] = -INFINITY;
  auto got = (*fast_s)->Run({{"x", *x}});
  auto want = (*ref_s)->Run({{"x", *x}});
  ASSERT_TRUE(got.ok() && want.ok());
  EXPECT_EQ(testing::compare_tensors((*got)[0].tensor, (*want)[0].tensor, 0.0), "");
  EXPECT_EQ((*got)[0].tensor.data<float>()[3], 6.f);
  EXPECT_EQ((*got)[0].tensor.data<float>()[4], 0.f);
}

}  // namespace
}  // namespace sparsert

namespace sparsert {
namespace {

// Where as GPT-2 masks attention: cond [S, S] (or [1, 1, S, S]) over scores [B, H, S, S], a scalar or a full Y.
std::string where_model(const std::vector<int64_t>& cond_shape, const std::vector<int64_t>& x_shape, bool y_scalar) {
  testing::OnnxBuilder b;
  b.input("c", onnx::TensorProto::BOOL, cond_shape).input("x", onnx::TensorProto::FLOAT, x_shape).output("o");
  if (y_scalar) b.initializer("y", {}, {-1e4f});
  else b.input("y", onnx::TensorProto::FLOAT, x_shape);
  b.node("Where", {"c", "x", "y"}, {"o"}, "where");
  return b.bytes();
}

TEST(FastWhere, causal_mask_broadcasts_match_the_reference_exactly) {
  std::mt19937 rng(9);
  struct Case {
    std::vector<int64_t> c, x;
    bool y_scalar;
    const char* kernel;
  };
  const Case cases[] = {{{7, 7}, {2, 3, 7, 7}, true, "fast_where_f32 x1"},
                        {{1, 1, 5, 5}, {1, 4, 5, 5}, true, "fast_where_f32 x1"},
                        {{9}, {3, 9}, false, "fast_where_f32 x1"},
                        {{2, 3, 4}, {2, 3, 4}, false, "fast_where_f32 x1"},
                        {{3, 1}, {3, 4}, true, "fast_where_f32 x1"}};  // a column mask: not this fast path
  for (const Case& k : cases) {
    std::vector<uint8_t> cond(static_cast<size_t>(testing::numel(k.c)));
    for (auto& v : cond) v = rng() % 2;
    std::vector<NamedTensor> in = {{"c", Tensor::from_vector<bool>(k.c, std::vector<bool>(cond.begin(), cond.end()))},
                                   {"x", Tensor::from_vector<float>(k.x, testing::randn(testing::numel(k.x), rng))}};
    if (!k.y_scalar) in.push_back({"y", Tensor::from_vector<float>(k.x, testing::randn(testing::numel(k.x), rng))});
    const std::string model = where_model(k.c, k.x, k.y_scalar);
    SessionOptions ref_opts;
    ref_opts.optimization_level = 0;
    auto fast = Session::CreateFromBytes(model.data(), model.size());
    auto ref = Session::CreateFromBytes(model.data(), model.size(), ref_opts);
    ASSERT_TRUE(fast.ok() && ref.ok());
    EXPECT_EQ((*fast)->kernel_summary(), k.kernel) << shape_to_string(k.c);
    auto a = (*fast)->Run(in);
    auto b = (*ref)->Run(in);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    EXPECT_EQ(testing::compare_tensors((*a)[0].tensor, (*b)[0].tensor, 0.0), "") << shape_to_string(k.c);
  }
}

}  // namespace
}  // namespace sparsert
