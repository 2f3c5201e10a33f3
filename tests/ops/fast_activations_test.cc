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

TEST(VectorMath, avx2_build_is_bit_identical_to_the_baseline_build) {
  if (!jit::may_use(jit::kIsaAvx2, jit::default_isa_cap())) GTEST_SKIP() << "no AVX2 on this machine";
  std::mt19937 rng(6);
  std::normal_distribution<float> d(0.f, 4.f);
  for (int64_t n : {1, 7, 8, 9, 31, 1000, 4099}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = d(rng);
    x[0] = 0.5f * 0.03f;  // a quantization tie
    if (n > 2) x[1] = -1e9f, x[2] = 1e9f;
    std::vector<float> a(x.size()), b(x.size());
    auto same = [&](const char* what) {
      for (size_t i = 0; i < a.size(); ++i)
        ASSERT_EQ(std::memcmp(&a[i], &b[i], sizeof(float)), 0) << what << " n=" << n << " i=" << i << ": " << a[i] << " vs " << b[i];
    };
    using Unary = void (*)(const float*, float*, int64_t) noexcept;
    const std::pair<const char*, std::pair<Unary, Unary>> unary[] = {
        {"exp", {fast::baseline::exp_array, fast::avx2::exp_array}},
        {"erf", {fast::baseline::erf_array, fast::avx2::erf_array}},
        {"sigmoid", {fast::baseline::sigmoid_array, fast::avx2::sigmoid_array}},
        {"gelu", {fast::baseline::gelu_erf_array, fast::avx2::gelu_erf_array}},
        {"relu", {fast::baseline::relu_array, fast::avx2::relu_array}}};
    for (const auto& [name, fns] : unary) {
      fns.first(x.data(), a.data(), n);
      fns.second(x.data(), b.data(), n);
      same(name);
    }
    EXPECT_EQ(fast::baseline::exp_shifted_sum(x.data(), 1.f, a.data(), n), fast::avx2::exp_shifted_sum(x.data(), 1.f, b.data(), n));
    same("exp_shifted_sum");
    // Rows (x without its +-1e9 outliers, so the sums are not all one value).
    std::vector<float> xs = x, scale(x.size()), bias(x.size());
    if (n > 2) xs[1] = -3.f, xs[2] = 3.f;
    for (size_t i = 0; i < x.size(); ++i) scale[i] = 1.f + 0.01f * static_cast<float>(i % 7), bias[i] = d(rng);
    for (int64_t rows : {int64_t{1}, int64_t{3}, int64_t{11}}) {  // 11: past a group of 8 softmax rows
      const int64_t w = n / rows;
      if (w == 0) continue;
      fast::baseline::softmax_rows(xs.data(), a.data(), rows, w);
      fast::avx2::softmax_rows(xs.data(), b.data(), rows, w);
      same("softmax_rows");
      fast::baseline::layer_norm_rows(xs.data(), scale.data(), bias.data(), a.data(), rows, w, 1e-5f);
      fast::avx2::layer_norm_rows(xs.data(), scale.data(), bias.data(), b.data(), rows, w, 1e-5f);
      same("layer_norm_rows");
      // Attention's fused rows: builds agree, and they give exactly the unfused
      // Div, Add and softmax_rows (in place; per-row mask and one value per row),
      // with and without a QDQ graph's Q/DQ pairs between the steps (bit i of
      // `pairs`: on the scores, after the scale, after the mask, on the probabilities).
      const fast::QdqStep steps[4] = {{0.4f, 128.f, 0.f, 255.f}, {0.05f, 3.f, -128.f, 127.f},
                                      {0.7f, 200.f, 0.f, 255.f}, {1.f / 255.f, 0.f, 0.f, 255.f}};
      // pairs bit 4 (16): a causal Where after the scale (and its pair).
      for (int pairs : {0, 15, 1, 2, 4, 8, 6, 16, 18, 31})
        for (bool divide : {true, false})
          for (int64_t mask_cols : {int64_t{1}, int64_t{0}}) {
            const size_t used = static_cast<size_t>(rows * w);
            auto qdq = [&](std::vector<float>& v, int step) {
              if (!(pairs >> step & 1)) return;
              const fast::QdqStep& q = steps[step];
              std::vector<float> out(used);
              fast::baseline::quantize_dequantize_array(v.data(), static_cast<int64_t>(used), q.scale, q.zero_point,
                                                        q.qlo, q.qhi, out.data());
              v = out;
            };
            std::vector<float> unfused(xs.begin(), xs.begin() + static_cast<int64_t>(used)), want(used);
            qdq(unfused, 0);
            for (float& v : unfused) v = divide ? v / 2.7f : v * 2.7f;
            qdq(unfused, 1);
            std::vector<uint8_t> keep(static_cast<size_t>(rows * w));
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t i = 0; i < w; ++i) keep[r * w + i] = i <= r + 1;
            if (pairs & 16)
              for (size_t i = 0; i < used; ++i) unfused[i] = keep[i] ? unfused[i] : -3.4e38f;
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t i = 0; i < w; ++i) unfused[r * w + i] += bias[r * w + i * mask_cols];
            qdq(unfused, 2);
            fast::baseline::softmax_rows(unfused.data(), want.data(), rows, w);
            qdq(want, 3);
            fast::AttentionRowSteps row_qdq;
            if (pairs & 1) row_qdq.scores = &steps[0];
            if (pairs & 2) row_qdq.scaled = &steps[1];
            if (pairs & 4) row_qdq.masked = &steps[2];
            if (pairs & 8) row_qdq.probs = &steps[3];
            if (pairs & 16) row_qdq.keep = keep.data(), row_qdq.keep_row_stride = w, row_qdq.keep_col_stride = 1;
            row_qdq.fill = -3.4e38f;
            for (int avx2 = 0; avx2 < 2; ++avx2) {
              std::vector<float> got(xs.begin(), xs.begin() + static_cast<int64_t>(used));
              (avx2 ? fast::avx2::scaled_masked_softmax_rows : fast::baseline::scaled_masked_softmax_rows)(
                  got.data(), rows, w, 2.7f, divide, bias.data(), w, mask_cols, pairs ? &row_qdq : nullptr);
              for (size_t i = 0; i < used; ++i)
                ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(float)), 0)
                    << "scaled_masked_softmax_rows avx2=" << avx2 << " pairs=" << pairs << " divide=" << divide
                    << " mask_cols=" << mask_cols << " n=" << n << " i=" << i;
            }
          }
    }
    fast::baseline::quantize_dequantize_array(x.data(), n, 0.03f, 7.f, -128.f, 127.f, a.data());
    fast::avx2::quantize_dequantize_array(x.data(), n, 0.03f, 7.f, -128.f, 127.f, b.data());
    same("quantize_dequantize");
    // In place on rows (the AVX2 build with intrinsics): the array's floats.
    for (int avx2 = 0; avx2 < 2; ++avx2) {
      std::vector<float> rows_in_place(x.begin(), x.end());
      const fast::QdqStep q{0.03f, 7.f, -128.f, 127.f};
      const int64_t half = n / 2;
      (avx2 ? fast::avx2::quantize_dequantize_rows : fast::baseline::quantize_dequantize_rows)(
          rows_in_place.data(), 2, half, n - half, q);
      for (int64_t i = 0; i < n; ++i) {
        const bool touched = i < half || i >= n - half;  // rows [0, half) and [n - half, n)
        const float want = touched ? a[static_cast<size_t>(i)] : x[static_cast<size_t>(i)];
        ASSERT_EQ(std::memcmp(&rows_in_place[static_cast<size_t>(i)], &want, sizeof(float)), 0)
            << "quantize_dequantize_rows avx2=" << avx2 << " n=" << n << " i=" << i;
      }
    }
    std::vector<uint8_t> qa(x.size()), qb(x.size());
    fast::baseline::quantize_u8_array(x.data(), n, 0.03f, 128.f, qa.data());
    fast::avx2::quantize_u8_array(x.data(), n, 0.03f, 128.f, qb.data());
    EXPECT_EQ(qa, qb) << "quantize_u8 n=" << n;
    // The AVX2 build quantizes 32 at a time with intrinsics: also ties at other
    // scales, NaN, infinities, -0 and the +-2^22 clamp, u8 and s8, every block position.
    std::vector<float> edge = x;
    const float specials[] = {NAN, INFINITY, -INFINITY, -0.f, 4194304.5f * 0.03f, -4194305.f * 0.03f, 1.5f * 0.03f,
                              -2.5f * 0.03f, 254.5f * 0.03f};
    for (size_t i = 0; i < edge.size(); ++i)
      if (i % 5 == 3) edge[i] = specials[(i / 5) % (sizeof specials / sizeof *specials)];
    float lo[2], hi[2];
    fast::baseline::min_max_with_zero(edge.data(), n, &lo[0], &hi[0]);
    fast::avx2::min_max_with_zero(edge.data(), n, &lo[1], &hi[1]);
    EXPECT_EQ(lo[0], lo[1]) << "min n=" << n;
    EXPECT_EQ(hi[0], hi[1]) << "max n=" << n;
    float want_lo = 0.f, want_hi = 0.f;
    for (float v : x) want_lo = std::min(want_lo, v), want_hi = std::max(want_hi, v);
    fast::avx2::min_max_with_zero(x.data(), n, &lo[1], &hi[1]);
    EXPECT_EQ(lo[1], want_lo) << "min n=" << n;
    EXPECT_EQ(hi[1], want_hi) << "max n=" << n;
    for (float zp : {0.f, 128.f}) {
      fast::baseline::quantize_u8_array(edge.data(), n, 0.03f, zp, qa.data());
      fast::avx2::quantize_u8_array(edge.data(), n, 0.03f, zp, qb.data());
      EXPECT_EQ(qa, qb) << "quantize_u8 (specials) n=" << n << " zp=" << zp;
      std::vector<int8_t> sa(x.size()), sb(x.size());
      fast::baseline::quantize_s8_array(edge.data(), n, 0.03f, zp - 128.f, sa.data());
      fast::avx2::quantize_s8_array(edge.data(), n, 0.03f, zp - 128.f, sb.data());
      EXPECT_EQ(sa, sb) << "quantize_s8 (specials) n=" << n << " zp=" << zp - 128.f;
    }
    fast::baseline::dequantize_u8_array(qa.data(), n, 0.03f, 128.f, a.data());
    fast::avx2::dequantize_u8_array(qa.data(), n, 0.03f, 128.f, b.data());
    same("dequantize_u8");
    // Lookup by code (the AVX2 build computes the codes with intrinsics):
    // both builds give table[code] and the NaN entry, on x and on the specials.
    {
      std::vector<uint8_t> table(257), ya(x.size()), yb(x.size());
      for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<uint8_t>(i * 37 + 11);
      const fast::QdqStep q{0.03f, 128.f, 0.f, 255.f};
      for (const std::vector<float>* in : {&x, &edge}) {
        fast::baseline::quantized_lookup_u8(in->data(), n, q, table.data(), ya.data());
        fast::avx2::quantized_lookup_u8(in->data(), n, q, table.data(), yb.data());
        EXPECT_EQ(ya, yb) << "quantized_lookup_u8 n=" << n;
        for (int64_t i = 0; i < n; ++i) {
          const float v = (*in)[static_cast<size_t>(i)];
          const float code = std::min(std::max(std::nearbyint(v / q.scale) + q.zero_point, 0.f), 255.f);
          const size_t want = std::isnan(v) ? 256 : static_cast<size_t>(code);
          ASSERT_EQ(yb[static_cast<size_t>(i)], table[want]) << "quantized_lookup_u8 n=" << n << " i=" << i << " x=" << v;
        }
      }
    }
    // QDQ with intrinsics in the AVX2 build: the specials too (NaN stays NaN in both).
    fast::baseline::quantize_dequantize_array(edge.data(), n, 0.03f, 128.f, 0.f, 255.f, a.data());
    fast::avx2::quantize_dequantize_array(edge.data(), n, 0.03f, 128.f, 0.f, 255.f, b.data());
    same("quantize_dequantize (specials)");
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
