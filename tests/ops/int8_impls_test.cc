// The int8 MatMulInteger implementations against the exact reference: oneDNN
// u8s8 (random odd shapes, extreme activations (255) with the extreme 7-bit
// weights, run-time A zero points, leading batch dims) and the exact int16
// kernel that takes what oneDNN declines (full-range weights without VNNI,
// asymmetric weights), on AVX2 and on the generic path. QLinearConv on oneDNN
// against its reference: random geometry, zero points, per-channel scales, bias.
#include <gtest/gtest.h>

#include <random>

#include "jit/isa.h"
#include "runtime/session.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

std::string matmul_integer_model(const std::vector<int64_t>& a_shape, int64_t K, int64_t N, const std::vector<int8_t>& w,
                                 bool b_zero_point, bool uint8_weights = false) {
  OnnxBuilder b;
  b.input("a", onnx::TensorProto::UINT8, a_shape).input("a_zp", onnx::TensorProto::UINT8, {}).output("y",
                                                                                                      onnx::TensorProto::INT32);
  const int wt = uint8_weights ? onnx::TensorProto::UINT8 : onnx::TensorProto::INT8;
  b.raw_initializer("w", wt, {K, N}, std::string(reinterpret_cast<const char*>(w.data()), w.size()));
  std::vector<std::string> in = {"a", "w", "a_zp"};
  if (b_zero_point) {
    // Per column, including the extremes.
    std::string zp(static_cast<size_t>(N), '\0');
    for (int64_t c = 0; c < N; ++c) zp[static_cast<size_t>(c)] = static_cast<char>(c % 3 == 0 ? 127 : (c % 3 == 1 ? -128 : c));
    b.raw_initializer("w_zp", wt, {N}, zp);
    in.push_back("w_zp");
  }
  b.node("MatMulInteger", in, {"y"}, "mmi");
  return b.bytes();
}

std::vector<NamedTensor> inputs(const std::vector<int64_t>& a_shape, uint8_t zp, std::mt19937& rng, bool extreme) {
  std::vector<uint8_t> a(static_cast<size_t>(testing::numel(a_shape)));
  for (uint8_t& v : a) v = extreme ? 255 : static_cast<uint8_t>(rng() % 256);
  return {{"a", Tensor::from_vector<uint8_t>(a_shape, a)}, {"a_zp", Tensor::scalar<uint8_t>(zp)}};
}

TEST(OnednnInt8, matmul_integer_is_exact_on_random_shapes) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 10; ++trial) {
    const int64_t K = 1 + rng() % 300, N = 1 + rng() % 70;
    std::vector<int64_t> a_shape = {static_cast<int64_t>(1 + rng() % 40), K};
    if (trial % 3 == 0) a_shape.insert(a_shape.begin(), 2);
    std::vector<int8_t> w(static_cast<size_t>(K * N));
    const bool extreme = trial < 2;  // 255 activations against -64 / 63 weights: the saturation edge
    for (int8_t& v : w) v = extreme ? (rng() % 2 ? -64 : 63) : static_cast<int8_t>(static_cast<int>(rng() % 128) - 64);
    auto r = testing::compare_with_reference(matmul_integer_model(a_shape, K, N, w, false),
                                             inputs(a_shape, extreme ? 0 : static_cast<uint8_t>(rng() % 256), rng, extreme),
                                             0.0);
    EXPECT_EQ(r.kernels, "onednn_matmul_u8s8 x1") << "K=" << K << " N=" << N;
  }
}

TEST(OnednnInt8, full_range_weights_without_vnni_take_the_exact_int16_kernel) {
  std::mt19937 rng(4);
  const int64_t K = 33, N = 9;
  std::vector<int64_t> a_shape = {5, K};
  std::vector<int8_t> full(static_cast<size_t>(K * N));
  for (int8_t& v : full) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  full[0] = -128;
  SessionOptions dense_only;  // this test is about the dense kernels
  dense_only.sparse_kernels = "never";
  const std::string model = matmul_integer_model(a_shape, K, N, full, false);
  auto r = testing::compare_with_reference(model, inputs(a_shape, 7, rng, true), 0.0, dense_only);
  const bool vnni = jit::may_use(jit::kIsaAvx512Vnni, jit::default_isa_cap()) ||
                    jit::may_use(jit::kIsaAvxVnni, jit::default_isa_cap());
  if (vnni) {
    EXPECT_EQ(r.kernels, "onednn_matmul_u8s8 x1");
  } else {
    EXPECT_EQ(r.kernels, "fast_matmul_integer_i16 x1");
    ASSERT_EQ(r.report.size(), 1u);
    EXPECT_NE(r.report[0].find("no VNNI"), std::string::npos) << r.report[0];
    // Under the cost model, the SpMM kernel (even at full density) beats the
    // int16 kernel where oneDNN cannot run the weights exactly.
    // (N a multiple of 4: no padded band rows; the tiny 33x9 weight above pays too much padding.)
    if (jit::may_use(jit::kIsaAvx2, jit::default_isa_cap())) {
      std::vector<int8_t> w(64 * 32);
      for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
      const std::vector<int64_t> shape = {20, 64};
      auto a = testing::compare_with_reference(matmul_integer_model(shape, 64, 32, w, false), inputs(shape, 7, rng, true), 0.0);
      EXPECT_EQ(a.kernels, "sparse_matmul_integer_u8s8 x1");
    }
  }
}

struct QConvCase {
  int64_t n, c, h, w, m, k, group, stride, pad;
  bool per_channel, bias;
  uint8_t x_zp, y_zp;
};

std::string qlinear_conv_model(const QConvCase& q, const std::vector<int8_t>& w, std::mt19937& rng) {
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::UINT8, {q.n, q.c, q.h, q.w}).output("y", onnx::TensorProto::UINT8);
  b.initializer("x_scale", {}, {0.02f});
  b.raw_initializer("x_zp", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(q.x_zp)));
  b.raw_initializer("w", onnx::TensorProto::INT8, {q.m, q.c / q.group, q.k, q.k},
                    std::string(reinterpret_cast<const char*>(w.data()), w.size()));
  std::vector<float> ws(q.per_channel ? static_cast<size_t>(q.m) : 1);
  for (float& v : ws) v = 0.001f + 0.004f * static_cast<float>(rng() % 100) / 100.f;
  b.initializer("w_scale", q.per_channel ? std::vector<int64_t>{q.m} : std::vector<int64_t>{}, ws);
  b.raw_initializer("w_zp", onnx::TensorProto::INT8, q.per_channel ? std::vector<int64_t>{q.m} : std::vector<int64_t>{},
                    std::string(ws.size(), '\0'));
  b.initializer("y_scale", {}, {0.05f});
  b.raw_initializer("y_zp", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(q.y_zp)));
  std::vector<std::string> in = {"x", "x_scale", "x_zp", "w", "w_scale", "w_zp", "y_scale", "y_zp"};
  if (q.bias) {
    std::vector<int32_t> bias(static_cast<size_t>(q.m));
    for (int32_t& v : bias) v = static_cast<int32_t>(rng() % 4001) - 2000;
    b.raw_initializer("bias", onnx::TensorProto::INT32, {q.m},
                      std::string(reinterpret_cast<const char*>(bias.data()), bias.size() * 4));
    in.push_back("bias");
  }
  auto& node = b.node("QLinearConv", in, {"y"}, "qconv");
  OnnxBuilder::int_attr(node, "group", q.group);
  OnnxBuilder::ints_attr(node, "strides", {q.stride, q.stride});
  OnnxBuilder::ints_attr(node, "pads", {q.pad, q.pad, q.pad, q.pad});
  return b.bytes();
}

TEST(OnednnInt8, qlinear_conv_matches_the_reference_exactly) {
  std::mt19937 rng(9);
  const QConvCase cases[] = {
      {1, 3, 17, 15, 8, 3, 1, 2, 1, true, true, 128, 0},      // stem-like, odd sizes
      {2, 16, 9, 9, 16, 3, 16, 1, 1, true, false, 3, 128},    // depthwise, padding reads x_zp
      {1, 12, 8, 7, 20, 1, 1, 1, 0, false, true, 255, 7},     // pointwise, per-tensor scale
      {1, 8, 11, 10, 6, 3, 2, 1, 2, true, true, 0, 255},      // groups, large pads
      {3, 5, 6, 6, 7, 5, 1, 3, 2, false, false, 77, 100},     // large kernel, stride 3
  };
  for (const QConvCase& q : cases) {
    std::vector<int8_t> w(static_cast<size_t>(q.m * (q.c / q.group) * q.k * q.k));
    for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 128) - 64);  // 7-bit: exact without VNNI
    w[0] = -64;
    const std::vector<int64_t> x_shape = {q.n, q.c, q.h, q.w};
    std::vector<uint8_t> x(static_cast<size_t>(testing::numel(x_shape)));
    for (uint8_t& v : x) v = static_cast<uint8_t>(rng() % 256);
    x[0] = 255;
    auto r = testing::compare_with_reference(qlinear_conv_model(q, w, rng), {{"x", Tensor::from_vector<uint8_t>(x_shape, x)}},
                                             0.0);
    EXPECT_EQ(r.kernels, "onednn_qlinear_conv_u8s8 x1") << "c=" << q.c << " m=" << q.m << " group=" << q.group;
  }
}

TEST(OnednnInt8, qlinear_conv_full_range_weights_need_vnni) {
  std::mt19937 rng(10);
  const QConvCase q{1, 4, 6, 6, 4, 3, 1, 1, 1, false, false, 0, 0};
  std::vector<int8_t> w(4 * 4 * 9);
  for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  w[0] = -128;
  std::vector<uint8_t> x(4 * 36, 255);
  auto r = testing::compare_with_reference(qlinear_conv_model(q, w, rng),
                                           {{"x", Tensor::from_vector<uint8_t>({1, 4, 6, 6}, x)}}, 0.0);
  const bool vnni = jit::may_use(jit::kIsaAvx512Vnni, jit::default_isa_cap()) ||
                    jit::may_use(jit::kIsaAvxVnni, jit::default_isa_cap());
  if (vnni) {
    EXPECT_EQ(r.kernels, "onednn_qlinear_conv_u8s8 x1");
  } else {
    EXPECT_EQ(r.kernels, "reference x1");
    ASSERT_EQ(r.report.size(), 1u);
    EXPECT_NE(r.report[0].find("no VNNI"), std::string::npos) << r.report[0];
  }
}

// ties: scales whose requantization multiplier is exactly 0.5 (and a per-tensor
// b_scale), so every odd accumulator is a .5 tie that round-half-even decides.
std::string qlinear_matmul_model(const std::vector<int64_t>& a_shape, int64_t K, int64_t N, const std::vector<int8_t>& w,
                                 bool per_column, uint8_t a_zp, uint8_t y_zp, std::mt19937& rng, bool ties = false) {
  OnnxBuilder b;
  b.input("a", onnx::TensorProto::UINT8, a_shape).output("y", onnx::TensorProto::UINT8);
  if (ties) per_column = false;
  b.initializer("a_scale", {}, {ties ? 0.5f : 0.03f});
  b.raw_initializer("a_zp", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(a_zp)));
  b.raw_initializer("b", onnx::TensorProto::INT8, {K, N}, std::string(reinterpret_cast<const char*>(w.data()), w.size()));
  std::vector<float> bs(per_column ? static_cast<size_t>(N) : 1);
  for (float& v : bs) v = ties ? 0.25f : 0.0005f + 0.002f * static_cast<float>(rng() % 100) / 100.f;
  const std::vector<int64_t> s_shape = per_column ? std::vector<int64_t>{N} : std::vector<int64_t>{};
  b.initializer("b_scale", s_shape, bs);
  b.raw_initializer("b_zp", onnx::TensorProto::INT8, s_shape, std::string(bs.size(), '\0'));
  b.initializer("y_scale", {}, {ties ? 0.25f : 0.04f});
  b.raw_initializer("y_zp", onnx::TensorProto::UINT8, {}, std::string(1, static_cast<char>(y_zp)));
  b.node("QLinearMatMul", {"a", "a_scale", "a_zp", "b", "b_scale", "b_zp", "y_scale", "y_zp"}, {"y"}, "qmm");
  return b.bytes();
}

TEST(OnednnInt8, qlinear_matmul_matches_the_reference_exactly) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 8; ++trial) {
    const int64_t K = 1 + rng() % 200, N = 1 + rng() % 60;
    std::vector<int64_t> a_shape = {static_cast<int64_t>(1 + rng() % 30), K};
    if (trial % 2) a_shape.insert(a_shape.begin(), 3);
    std::vector<int8_t> w(static_cast<size_t>(K * N));
    for (int8_t& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 128) - 64);  // 7-bit: exact without VNNI
    std::vector<uint8_t> a(static_cast<size_t>(testing::numel(a_shape)));
    for (uint8_t& v : a) v = trial == 0 ? 255 : static_cast<uint8_t>(rng() % 256);
    const uint8_t a_zp = static_cast<uint8_t>(rng() % 256), y_zp = static_cast<uint8_t>(rng() % 256);
    auto r = testing::compare_with_reference(qlinear_matmul_model(a_shape, K, N, w, trial % 3 != 0, a_zp, y_zp, rng),
                                             {{"a", Tensor::from_vector<uint8_t>(a_shape, a)}}, 0.0);
    EXPECT_EQ(r.kernels, "onednn_qlinear_matmul_u8s8 x1") << "K=" << K << " N=" << N;
  }
}

TEST(SparseInt8, qlinear_matmul_on_pruned_and_full_range_weights_matches_the_reference_exactly) {
  std::mt19937 rng(13);
  const bool vnni = jit::may_use(jit::kIsaAvx512Vnni, jit::default_isa_cap()) ||
                    jit::may_use(jit::kIsaAvxVnni, jit::default_isa_cap());
  // Trials 6 and 7: every odd accumulator a .5 tie (the kernel requantizes in
  // its epilogue; ORT rounds float(acc) * multiplier half-to-even), small
  // weights so the products stay near the 8-bit range.
  for (int trial = 0; trial < 8; ++trial) {
    const bool ties = trial >= 6;
    const int64_t K = 64 + rng() % 200, N = 4 * (4 + rng() % 20);
    std::vector<int64_t> a_shape = {static_cast<int64_t>(1 + rng() % 40), K};
    if (trial % 2) a_shape.insert(a_shape.begin(), 2);
    // 90% zeros in 4x1 blocks (4 output columns share a K row), full int8 range.
    std::vector<int8_t> w(static_cast<size_t>(K * N), 0);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t c = 0; c < N; c += 4)
        if (rng() % 10 == 0)
          for (int64_t j = 0; j < 4; ++j)
            w[static_cast<size_t>(k * N + c + j)] =
                static_cast<int8_t>(ties ? static_cast<int>(rng() % 5) - 2 : static_cast<int>(rng() % 256) - 128);
    std::vector<uint8_t> a(static_cast<size_t>(testing::numel(a_shape)));
    for (uint8_t& v : a) v = static_cast<uint8_t>(rng() % 256);
    const std::string model = qlinear_matmul_model(a_shape, K, N, w, trial % 3 != 0, static_cast<uint8_t>(rng() % 256),
                                                   static_cast<uint8_t>(ties ? 128 : rng() % 256), rng, ties);
    const std::vector<NamedTensor> in = {{"a", Tensor::from_vector<uint8_t>(a_shape, a)}};
    auto sparse = testing::compare_with_reference(model, in, 0.0);
    if (jit::may_use(jit::kIsaAvx2, jit::default_isa_cap())) {
      EXPECT_EQ(sparse.kernels, "sparse_qlinear_matmul_u8s8 x1") << "K=" << K << " N=" << N;
    }
    // The plain C++ kernel and the baseline epilogue build.
    SessionOptions generic;
    generic.isa = "generic";
    sparse = testing::compare_with_reference(model, in, 0.0, generic);
    EXPECT_EQ(sparse.kernels, "sparse_qlinear_matmul_u8s8 x1") << "generic K=" << K << " N=" << N;
    // Dense kernels only: full-range weights without VNNI take the exact dense
    // tiles of the SpMM kernels (AVX2), else the exact int16 product.
    SessionOptions dense_only;
    dense_only.sparse_kernels = "never";
    auto dense = testing::compare_with_reference(model, in, 0.0, dense_only);
    // (The ties trials' small weights are exact on oneDNN without VNNI too.)
    const bool avx2 = jit::may_use(jit::kIsaAvx2, jit::default_isa_cap());
    EXPECT_EQ(dense.kernels, vnni || ties ? "onednn_qlinear_matmul_u8s8 x1"
                             : avx2       ? "sparse_qlinear_matmul_u8s8 x1"
                                          : "fast_qlinear_matmul_i16 x1");
    SessionOptions dense_generic = dense_only;
    dense_generic.isa = "generic";
    dense = testing::compare_with_reference(model, in, 0.0, dense_generic);
    // The generic cap hides VNNI too, so only the ties trials stay on oneDNN.
    EXPECT_EQ(dense.kernels, ties ? "onednn_qlinear_matmul_u8s8 x1" : "fast_qlinear_matmul_i16 x1");
  }
}

TEST(OnednnInt8, conv_integer_with_uint8_weights_and_runtime_x_zero_point_is_exact) {
  std::mt19937 rng(12);
  const QConvCase cases[] = {
      {1, 3, 17, 15, 8, 3, 1, 2, 1, true, false, 0, 0},   // per-channel w zero points
      {2, 16, 9, 9, 16, 3, 16, 1, 1, false, false, 0, 0}, // depthwise, per-tensor zero point
      {1, 12, 8, 7, 20, 1, 1, 1, 0, true, false, 0, 0},
  };
  for (const QConvCase& q : cases) {
    OnnxBuilder b;
    b.input("x", onnx::TensorProto::UINT8, {q.n, q.c, q.h, q.w}).input("x_zp", onnx::TensorProto::UINT8, {});
    b.output("y", onnx::TensorProto::INT32);
    const int64_t wn = q.m * (q.c / q.group) * q.k * q.k, per_m = wn / q.m;
    std::string zp(q.per_channel ? static_cast<size_t>(q.m) : 1, '\0');
    for (char& z : zp) z = static_cast<char>(64 + rng() % 9);  // w = zp - 64 .. zp + 63 stays in [0, 255]
    std::string w(static_cast<size_t>(wn), '\0');
    for (int64_t i = 0; i < wn; ++i) {  // w - w_zp within [-64, 63]: exact without VNNI
      const int z = static_cast<uint8_t>(zp[q.per_channel ? static_cast<size_t>(i / per_m) : 0]);
      w[static_cast<size_t>(i)] = static_cast<char>(z - 64 + static_cast<int>(rng() % 128));
    }
    b.raw_initializer("w", onnx::TensorProto::UINT8, {q.m, q.c / q.group, q.k, q.k}, w);
    b.raw_initializer("w_zp", onnx::TensorProto::UINT8, q.per_channel ? std::vector<int64_t>{q.m} : std::vector<int64_t>{}, zp);
    auto& node = b.node("ConvInteger", {"x", "w", "x_zp", "w_zp"}, {"y"}, "ci");
    OnnxBuilder::int_attr(node, "group", q.group);
    OnnxBuilder::ints_attr(node, "strides", {q.stride, q.stride});
    OnnxBuilder::ints_attr(node, "pads", {q.pad, q.pad, q.pad, q.pad});
    const std::vector<int64_t> x_shape = {q.n, q.c, q.h, q.w};
    std::vector<uint8_t> x(static_cast<size_t>(testing::numel(x_shape)));
    for (uint8_t& v : x) v = static_cast<uint8_t>(rng() % 256);
    auto r = testing::compare_with_reference(
        b.bytes(), {{"x", Tensor::from_vector<uint8_t>(x_shape, x)}, {"x_zp", Tensor::scalar<uint8_t>(static_cast<uint8_t>(rng() % 256))}},
        0.0);
    EXPECT_EQ(r.kernels, "onednn_conv_integer_u8s8 x1") << "c=" << q.c << " m=" << q.m << " group=" << q.group << " " << (r.report.empty() ? "" : r.report[0]);
  }
}

TEST(FastInt8, int16_kernel_is_exact_on_random_shapes_and_zero_points) {
  std::mt19937 rng(6);
  for (const char* isa : {"", "generic"}) {
    SessionOptions opts;
    opts.isa = isa;
    for (int trial = 0; trial < 8; ++trial) {
      const int64_t K = 1 + rng() % 200, N = 1 + rng() % 40;
      std::vector<int64_t> a_shape = {static_cast<int64_t>(1 + rng() % 11), K};
      if (trial % 2) a_shape.insert(a_shape.begin(), 3);
      std::vector<int8_t> w(static_cast<size_t>(K * N));
      for (int8_t& v : w) v = trial == 0 ? -128 : static_cast<int8_t>(rng() % 256);
      // Asymmetric weights: oneDNN declines, so the int16 kernel runs.
      auto r = testing::compare_with_reference(matmul_integer_model(a_shape, K, N, w, true, trial % 3 == 2),
                                               inputs(a_shape, static_cast<uint8_t>(trial == 0 ? 0 : rng() % 256), rng,
                                                      trial == 0),
                                               0.0, opts);
      EXPECT_EQ(r.kernels, "fast_matmul_integer_i16 x1") << "isa '" << isa << "' K=" << K << " N=" << N;
      ASSERT_FALSE(r.report.empty());
      // oneDNN declined first, saying why (asymmetric, or uint8 weights).
      EXPECT_TRUE(r.report[0].find("B zero point is not 0") != std::string::npos ||
                  r.report[0].find("needs 2-D int8") != std::string::npos)
          << r.report[0];
    }
  }
}

}  // namespace
}  // namespace sparsert

namespace sparsert {
namespace {

// fast_dynamic_quantize_f32 is bit-identical to the reference: random data of
// several signs and sizes (16-lane tails), exact .5 ties, all zeros.
TEST(FastDynamicQuantize, bit_identical_to_the_reference) {
  std::mt19937 rng(9);
  auto model = [](int64_t n) {
    testing::OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {n}).output("y", onnx::TensorProto::UINT8);
    b.output("s").output("z", onnx::TensorProto::UINT8);
    b.node("DynamicQuantizeLinear", {"x"}, {"y", "s", "z"}, "dql");
    return b.bytes();
  };
  for (int64_t n : {1, 15, 16, 17, 1000, 70001}) {
    for (int kind = 0; kind < 4; ++kind) {
      std::vector<float> x = testing::randn(n, rng);
      for (float& v : x) {
        if (kind == 1) v = std::fabs(v);                          // non-negative: zero point 0
        if (kind == 2) v = -std::fabs(v) * 100.f;                 // non-positive: zero point 255
        if (kind == 3) v = static_cast<float>(static_cast<int>(v * 4)) * 0.5f;  // many exact .5 ties
      }
      if (kind == 3) { x[0] = -127.5f; x[n > 1 ? 1 : 0] = 127.5f; }  // scale 1: x / scale ties at .5
      auto r = testing::compare_with_reference(model(n), {{"x", Tensor::from_vector<float>({n}, x)}}, 0.0);
      EXPECT_EQ(r.kernels, "fast_dynamic_quantize_f32 x1") << n << " " << kind;
    }
  }
  auto zeros = testing::compare_with_reference(model(33), {{"x", Tensor::from_vector<float>({33}, std::vector<float>(33, 0.f))}}, 0.0);
  EXPECT_EQ(zeros.kernels, "fast_dynamic_quantize_f32 x1");
}

TEST(FastQuantizeLinear, quantize_and_dequantize_are_bit_identical_to_the_reference) {
  std::mt19937 rng(10);
  // x -> QuantizeLinear(scale, zp) -> q (output) -> DequantizeLinear(scale, zp) -> y (output)
  auto model = [](int64_t n, int qtype, float scale, int zp) {
    testing::OnnxBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {n}).output("q", qtype).output("y");
    b.initializer("scale", {}, {scale});
    b.raw_initializer("zp", qtype, {}, std::string(1, static_cast<char>(zp)));
    b.node("QuantizeLinear", {"x", "scale", "zp"}, {"q"}, "quant");
    b.node("DequantizeLinear", {"q", "scale", "zp"}, {"y"}, "dequant");
    return b.bytes();
  };
  for (int64_t n : {1, 15, 16, 17, 1000, 70001}) {
    for (int qtype : {onnx::TensorProto::UINT8, onnx::TensorProto::INT8}) {
      const float scale = 0.0125f;
      const int zp = qtype == onnx::TensorProto::UINT8 ? 131 : -7;
      std::vector<float> x = testing::randn(n, rng);
      for (size_t i = 0; i < x.size(); ++i) {
        if (i % 3 == 0) x[i] = (static_cast<float>(static_cast<int>(x[i] * 40)) + 0.5f) * scale;  // .5 ties
        if (i % 7 == 0) x[i] *= 1e6f;                                                               // saturates
      }
      auto r = testing::compare_with_reference(model(n, qtype, scale, zp), {{"x", Tensor::from_vector<float>({n}, x)}}, 0.0);
      EXPECT_EQ(r.kernels, "fast_dequantize_linear_f32 x1, fast_quantize_linear_f32 x1") << n << " " << qtype;
    }
  }
}

TEST(FastQuantizeLinear, a_q_dq_pair_runs_as_one_bit_identical_op) {
  std::mt19937 rng(11);
  for (int qtype : {onnx::TensorProto::UINT8, onnx::TensorProto::INT8}) {
    testing::OnnxBuilder b;
    const int64_t n = 1003;
    b.input("x", onnx::TensorProto::FLOAT, {n}).output("y");
    b.initializer("scale", {}, {0.03f});
    b.raw_initializer("zp", qtype, {}, std::string(1, static_cast<char>(qtype == onnx::TensorProto::UINT8 ? 100 : 3)));
    b.node("QuantizeLinear", {"x", "scale", "zp"}, {"q"}, "quant");
    b.node("DequantizeLinear", {"q", "scale", "zp"}, {"y"}, "dequant");
    std::vector<float> x = testing::randn(n, rng);
    for (size_t i = 0; i < x.size(); i += 5) x[i] = (static_cast<float>(static_cast<int>(x[i] * 30)) + 0.5f) * 0.03f;
    for (size_t i = 1; i < x.size(); i += 11) x[i] *= 1e5f;
    const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({n}, x)}};
    auto fast = testing::compare_with_reference(b.bytes(), in, 0.0);
    EXPECT_EQ(fast.kernels, "fast_quantize_dequantize_f32 x1");
    SessionOptions twin;  // the fused op's reference kernel
    twin.disabled_kernels = {"fast_quantize_dequantize_f32"};
    auto ref = testing::compare_with_reference(b.bytes(), in, 0.0, twin);
    EXPECT_EQ(ref.kernels, "reference x1");
  }
}

}  // namespace
}  // namespace sparsert
