// The kernels of com.sparsert Attention (fast_attention_f32: AVX2 tiles on
// per-head panels; onednn_attention_f32) against its reference kernel, on
// random inputs with odd sizes: query strips that are not a multiple of 6,
// keys and value widths that are not a multiple of 16 (and below 16), odd head
// sizes, batches, every mask form, both scale operators, 1 and 2 threads (a
// head split into chunks of strips when there are fewer heads than threads).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "jit/isa.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

enum class Mask { kNone, kPerKey, kSquare, kFull };  // [B,1,1,Sk], [Sq,Sk], [B,H,Sq,Sk]

struct Case {
  int64_t B, Sq, Sk, H, D, Dv;
  Mask mask;
  bool divide;
};

// symbolic: batch and sequence dims are symbols (v's keys its own), so shape
// errors reach the kernels.
std::string attention_model(const Case& c, bool symbolic = false) {
  OnnxBuilder b;
  auto* os = b.model().add_opset_import();
  os->set_domain("com.sparsert");
  os->set_version(1);
  const int64_t B = symbolic ? -1 : c.B, Sq = symbolic ? -1 : c.Sq, Sk = symbolic ? -1 : c.Sk;
  b.input("q", onnx::TensorProto::FLOAT, {B, Sq, c.H * c.D}, {"batch", "sq"});
  b.input("k", onnx::TensorProto::FLOAT, {B, Sk, c.H * c.D}, {"batch", "sk"});
  b.input("v", onnx::TensorProto::FLOAT, {B, Sk, c.H * c.Dv}, {"batch", "sv"});
  std::vector<std::string> in = {"q", "k", "v"};
  if (c.mask == Mask::kPerKey) b.input("mask", onnx::TensorProto::FLOAT, {B, 1, 1, Sk}, {"batch", "", "", "sk"});
  if (c.mask == Mask::kSquare) b.input("mask", onnx::TensorProto::FLOAT, {c.Sq, c.Sk});
  if (c.mask == Mask::kFull) b.input("mask", onnx::TensorProto::FLOAT, {c.B, c.H, c.Sq, c.Sk});
  if (c.mask != Mask::kNone) in.push_back("mask");
  auto& n = b.node("Attention", in, {"y"}, "attention", "com.sparsert");
  OnnxBuilder::int_attr(n, "num_heads", c.H);
  OnnxBuilder::float_attr(n, "scale", c.divide ? 3.3f : 0.125f);
  OnnxBuilder::int_attr(n, "divide", c.divide ? 1 : 0);
  b.output("y");
  return b.bytes();
}

std::vector<NamedTensor> random_inputs(const Case& c, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<NamedTensor> in = {
      {"q", Tensor::from_vector<float>({c.B, c.Sq, c.H * c.D}, testing::randn(c.B * c.Sq * c.H * c.D, rng))},
      {"k", Tensor::from_vector<float>({c.B, c.Sk, c.H * c.D}, testing::randn(c.B * c.Sk * c.H * c.D, rng))},
      {"v", Tensor::from_vector<float>({c.B, c.Sk, c.H * c.Dv}, testing::randn(c.B * c.Sk * c.H * c.Dv, rng))}};
  auto mask = [&](std::vector<int64_t> shape) {
    std::vector<float> m = testing::randn(testing::numel(shape), rng);
    for (size_t i = 0; i < m.size(); i += 3) m[i] = -10000.f;  // masked positions
    in.push_back({"mask", Tensor::from_vector<float>(shape, m)});
  };
  if (c.mask == Mask::kPerKey) mask({c.B, 1, 1, c.Sk});
  if (c.mask == Mask::kSquare) mask({c.Sq, c.Sk});
  if (c.mask == Mask::kFull) mask({c.B, c.H, c.Sq, c.Sk});
  return in;
}

std::string describe(const Case& c) {
  return "B=" + std::to_string(c.B) + " Sq=" + std::to_string(c.Sq) + " Sk=" + std::to_string(c.Sk) +
         " H=" + std::to_string(c.H) + " D=" + std::to_string(c.D) + " Dv=" + std::to_string(c.Dv) +
         " mask=" + std::to_string(static_cast<int>(c.mask)) + " divide=" + std::to_string(c.divide);
}

const Case kCases[] = {
    {1, 128, 128, 12, 64, 64, Mask::kPerKey, false},  // BERT-base
    {2, 7, 13, 3, 5, 4, Mask::kPerKey, true},
    {1, 1, 33, 2, 17, 9, Mask::kNone, false},  // one query row (decode)
    {3, 13, 40, 2, 64, 20, Mask::kSquare, true},
    {1, 50, 9, 1, 8, 33, Mask::kFull, false},   // one head: split into chunks at 2 threads
    {2, 31, 16, 4, 16, 16, Mask::kFull, true},  // whole panels
    {1, 6, 200, 2, 3, 1, Mask::kPerKey, false},
};

TEST(AttentionImpls, fast_and_onednn_kernels_match_the_reference) {
  const bool avx2 = jit::may_use(jit::kIsaAvx2, jit::default_isa_cap());
  if (!avx2) std::printf("[ SKIPPED  ] fast_attention_f32 needs AVX2 and FMA; checking oneDNN's kernel only\n");
  unsigned seed = 40;
  for (const Case& c : kCases) {
    const std::string bytes = attention_model(c);
    const auto in = random_inputs(c, ++seed);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(describe(c) + " threads=" + std::to_string(threads));
      SessionOptions fast;
      fast.threads = threads;
      auto run = testing::compare_with_reference(bytes, in, 1e-5, fast);
      EXPECT_NE(run.kernels.find(avx2 ? "fast_attention_f32 x1" : "onednn_attention_f32 x1"), std::string::npos)
          << run.kernels;
      SessionOptions onednn = fast;
      onednn.disabled_kernels = {"fast_attention_f32"};
      run = testing::compare_with_reference(bytes, in, 1e-5, onednn);
      EXPECT_NE(run.kernels.find("onednn_attention_f32 x1"), std::string::npos) << run.kernels;
    }
  }
}

TEST(AttentionImpls, bad_shapes_are_named_errors_on_every_kernel) {
  const Case c{2, 5, 7, 2, 4, 3, Mask::kPerKey, false};
  const std::string bytes = attention_model(c, /*symbolic=*/true);
  for (const char* disabled : {"", "fast_attention_f32"}) {
    SessionOptions o;
    if (*disabled) o.disabled_kernels = {disabled};
    auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    auto in = random_inputs(c, 3);
    in[2].tensor = Tensor::from_vector<float>({2, 6, 6}, std::vector<float>(72, 0.f));  // 6 keys in v, 7 in k
    auto r = (*s)->Run(in);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().to_string().find("node 'attention'"), std::string::npos) << r.status().to_string();
    EXPECT_NE(r.status().to_string().find("v"), std::string::npos) << r.status().to_string();
  }
}

}  // namespace
}  // namespace sparsert
