// The kernels of com.sparsert Attention (fast_attention_f32: AVX2 or AVX-512 tiles on
// per-head panels; onednn_attention_f32) against its reference kernel, on
// random inputs with odd sizes: query strips that are not a multiple of 6,
// keys and value widths that are not a multiple of 16 (and below 16), odd head
// sizes, batches, every mask form, both scale operators, 1 and 2 threads (a
// head split into chunks of strips when there are fewer heads than threads).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "jit/isa.h"
#include "ops/attention.h"
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
  int qdq_pairs = 0;  // bit i: the Q/DQ pair kAttentionQdqSteps[i] (scores, scaled, masked, probs, output)
  bool causal = false;  // a bool keep [Sq, Sk] input (key j <= query i + Sk - Sq) and fill
};

// Steps coarse enough that every pair changes the result; uint8 and int8 ranges.
const std::vector<float> kAttentionQdqSteps[5] = {
    {0.5f, 128.f, 0.f, 255.f}, {0.25f, 0.f, -128.f, 127.f}, {0.3f, 200.f, 0.f, 255.f}, {1.f / 64.f, 0.f, 0.f, 255.f},
    {0.05f, 10.f, -128.f, 127.f}};
const char* const kQdqAttrs[5] = {"qdq_scores", "qdq_scaled", "qdq_masked", "qdq_probs", "qdq_output"};

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
  if (c.causal) {
    if (c.mask == Mask::kNone) in.push_back("");
    b.input("keep", onnx::TensorProto::BOOL, {Sq, Sk}, {"sq", "sk"});
    in.push_back("keep");
  }
  auto& n = b.node("Attention", in, {"y"}, "attention", "com.sparsert");
  if (c.causal) OnnxBuilder::float_attr(n, "fill", -3.4028234663852886e38f);  // GPT-2's finfo(float32).min
  OnnxBuilder::int_attr(n, "num_heads", c.H);
  OnnxBuilder::float_attr(n, "scale", c.divide ? 3.3f : 0.125f);
  OnnxBuilder::int_attr(n, "divide", c.divide ? 1 : 0);
  for (int i = 0; i < 5; ++i)
    if (c.qdq_pairs >> i & 1) OnnxBuilder::floats_attr(n, kQdqAttrs[i], kAttentionQdqSteps[i]);
  b.output("y");
  return b.bytes();
}

// integer_qk: q and k small integers, so every kernel's dot products are
// exact whatever their order (the scores' Q/DQ pairs then see equal floats).
std::vector<NamedTensor> random_inputs(const Case& c, unsigned seed, bool integer_qk = false) {
  std::mt19937 rng(seed);
  auto qk = [&](int64_t n) {
    std::vector<float> x = testing::randn(n, rng);
    if (integer_qk)
      for (float& v : x) v = std::nearbyint(std::clamp(v, -2.f, 2.f));
    return x;
  };
  std::vector<NamedTensor> in = {
      {"q", Tensor::from_vector<float>({c.B, c.Sq, c.H * c.D}, qk(c.B * c.Sq * c.H * c.D))},
      {"k", Tensor::from_vector<float>({c.B, c.Sk, c.H * c.D}, qk(c.B * c.Sk * c.H * c.D))},
      {"v", Tensor::from_vector<float>({c.B, c.Sk, c.H * c.Dv}, testing::randn(c.B * c.Sk * c.H * c.Dv, rng))}};
  auto mask = [&](std::vector<int64_t> shape) {
    std::vector<float> m = testing::randn(testing::numel(shape), rng);
    for (size_t i = 0; i < m.size(); i += 3) m[i] = -10000.f;  // masked positions
    in.push_back({"mask", Tensor::from_vector<float>(shape, m)});
  };
  if (c.mask == Mask::kPerKey) mask({c.B, 1, 1, c.Sk});
  if (c.mask == Mask::kSquare) mask({c.Sq, c.Sk});
  if (c.mask == Mask::kFull) mask({c.B, c.H, c.Sq, c.Sk});
  if (c.causal) {
    std::vector<bool> keep(static_cast<size_t>(c.Sq * c.Sk));
    for (int64_t i = 0; i < c.Sq; ++i)
      for (int64_t j = 0; j < c.Sk; ++j) keep[static_cast<size_t>(i * c.Sk + j)] = j <= i + c.Sk - c.Sq;
    in.push_back({"keep", Tensor::from_vector<bool>({c.Sq, c.Sk}, keep)});
  }
  return in;
}

std::string describe(const Case& c) {
  return "B=" + std::to_string(c.B) + " Sq=" + std::to_string(c.Sq) + " Sk=" + std::to_string(c.Sk) +
         " H=" + std::to_string(c.H) + " D=" + std::to_string(c.D) + " Dv=" + std::to_string(c.Dv) +
         " mask=" + std::to_string(static_cast<int>(c.mask)) + " divide=" + std::to_string(c.divide) +
         " qdq_pairs=" + std::to_string(c.qdq_pairs) + " causal=" + std::to_string(c.causal);
}

const Case kCases[] = {
    {1, 128, 128, 12, 64, 64, Mask::kPerKey, false},  // BERT-base
    {2, 7, 13, 3, 5, 4, Mask::kPerKey, true},
    {1, 1, 33, 2, 17, 9, Mask::kNone, false},  // one query row (decode)
    {3, 13, 40, 2, 64, 20, Mask::kSquare, true},
    {1, 50, 9, 1, 8, 33, Mask::kFull, false},   // one head: split into chunks at 2 threads
    {2, 31, 16, 4, 16, 16, Mask::kFull, true},  // whole panels
    {1, 6, 200, 2, 3, 1, Mask::kPerKey, false},
    {3, 100, 250, 6, 64, 64, Mask::kPerKey, false},  // K and V over 1 MiB: the next head prefetched
};

TEST(AttentionImpls, fast_and_onednn_kernels_match_the_reference) {
  const bool avx2 = jit::may_use(jit::kIsaAvx2, jit::default_isa_cap());
  if (!avx2) std::printf("[ SKIPPED  ] fast_attention_f32 needs AVX2 and FMA; checking oneDNN's kernel only\n");
  unsigned seed = 40;
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  for (const Case& c : kCases) {  // and each with a causal keep input (GPT-2)
    cases.push_back(c);
    cases.back().causal = true;
  }
  for (const Case& c : cases) {
    const std::string bytes = attention_model(c);
    const auto in = random_inputs(c, ++seed);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(describe(c) + " threads=" + std::to_string(threads));
      SessionOptions fast;
      fast.threads = threads;
      auto run = testing::compare_with_reference(bytes, in, 1e-5, fast);
      EXPECT_NE(run.kernels.find(avx2 ? "fast_attention_f32 x1" : "onednn_attention_f32 x1"), std::string::npos)
          << run.kernels;
      if (jit::may_use(jit::kIsaAvx512, jit::default_isa_cap())) {  // above: the zmm tiles; here the ymm ones
        SessionOptions ymm = fast;
        ymm.isa = "avx2";
        run = testing::compare_with_reference(bytes, in, 1e-5, ymm);
        EXPECT_NE(run.kernels.find("fast_attention_f32 x1"), std::string::npos) << run.kernels;
      }
      SessionOptions onednn = fast;
      onednn.disabled_kernels = {"fast_attention_f32"};
      run = testing::compare_with_reference(bytes, in, 1e-5, onednn);
      EXPECT_NE(run.kernels.find("onednn_attention_f32 x1"), std::string::npos) << run.kernels;
    }
  }
}

// With Q/DQ pairs the exact scores make the pairs before the softmax agree
// exactly; the probabilities (fast exp vs the reference's double exp) and the
// output (sums in another order) can still round to the neighbouring step
// where a value sits on a rounding boundary: allowed for at most 0.2% of the
// outputs, each by at most one step of those pairs. Every output of an output
// pair lies on its grid.
void expect_matches_reference_with_qdq(const Case& c, const std::string& bytes, const std::vector<NamedTensor>& in,
                                       const SessionOptions& fast, const char* kernel) {
  SessionOptions ref_opts;
  ref_opts.optimization_level = 0;
  ref_opts.disabled_kernels = {"fast_attention_f32", "onednn_attention_f32"};
  auto fs = Session::CreateFromBytes(bytes.data(), bytes.size(), fast);
  auto rs = Session::CreateFromBytes(bytes.data(), bytes.size(), ref_opts);
  ASSERT_TRUE(fs.ok() && rs.ok());
  EXPECT_NE((*fs)->kernel_summary().find(std::string(kernel) + " x1"), std::string::npos) << (*fs)->kernel_summary();
  auto got = (*fs)->Run(in);
  auto want = (*rs)->Run(in);
  ASSERT_TRUE(got.ok() && want.ok());
  const Tensor &g = (*got)[0].tensor, &w = (*want)[0].tensor;
  float v_max = 0.f;
  for (int64_t i = 0; i < in[2].tensor.num_elements(); ++i) v_max = std::max(v_max, std::fabs(in[2].tensor.data<float>()[i]));
  double step = 0;
  if (c.qdq_pairs & 8) step += kAttentionQdqSteps[3][0] * v_max * 1.01;
  if (c.qdq_pairs & 16) step += kAttentionQdqSteps[4][0] * 1.01;
  EXPECT_EQ(testing::within_one_quantization_step(g, w, step), "") << kernel;
  if (c.qdq_pairs & 16)
    for (int64_t i = 0; i < g.num_elements(); ++i) {
      const float level = g.data<float>()[i] / kAttentionQdqSteps[4][0];
      ASSERT_NEAR(level, std::nearbyint(level), 1e-3) << kernel << " output " << i << " is off the output pair's grid";
    }
}

TEST(AttentionImpls, qdq_pairs_on_every_kernel_match_the_reference) {
  const bool avx2 = jit::may_use(jit::kIsaAvx2, jit::default_isa_cap());
  if (!avx2) std::printf("[ SKIPPED  ] fast_attention_f32 needs AVX2 and FMA; checking oneDNN's kernel only\n");
  unsigned seed = 70;
  int changed = 0;
  for (int pairs : {31, 1, 2, 4, 8, 16, 7, 24}) {
    for (Case c : kCases) {
      c.qdq_pairs = pairs;
      const std::string bytes = attention_model(c);
      const auto in = random_inputs(c, ++seed, /*integer_qk=*/true);
      SCOPED_TRACE(describe(c));
      SessionOptions fast;
      fast.threads = 2;
      if (avx2) expect_matches_reference_with_qdq(c, bytes, in, fast, "fast_attention_f32");
      fast.disabled_kernels = {"fast_attention_f32"};
      expect_matches_reference_with_qdq(c, bytes, in, fast, "onednn_attention_f32");
      // The pairs are not a no-op: the reference without them differs.
      Case plain = c;
      plain.qdq_pairs = 0;
      SessionOptions ref;
      ref.optimization_level = 0;
      auto a = Session::CreateFromBytes(bytes.data(), bytes.size(), ref);
      const std::string plain_bytes = attention_model(plain);
      auto b = Session::CreateFromBytes(plain_bytes.data(), plain_bytes.size(), ref);
      ASSERT_TRUE(a.ok() && b.ok());
      changed += testing::compare_tensors((*(*a)->Run(in))[0].tensor, (*(*b)->Run(in))[0].tensor, 1e-4) != "";
    }
  }
  EXPECT_GE(changed, 8 * 6) << "Q/DQ pairs changed too few reference results";
}

// ORT's min-max calibration gives BERT's scaled pair exactly the scores pair's
// scale / 8 (these are layer 0's): every scaled code passes it unchanged, so
// the kernels skip it; results stay the reference's (which applies it).
TEST(AttentionImpls, a_scaled_pair_that_gives_back_every_scaled_code_is_skipped) {
  Case c = kCases[1];
  c.divide = false;  // * 0.125
  for (float scaled_scale : {0.0029742492f, 0.003f}) {
    const bool identity = scaled_scale == 0.0029742492f;
    onnx::ModelProto m;
    ASSERT_TRUE(m.ParseFromString(attention_model(c)));
    auto* node = m.mutable_graph()->mutable_node(0);
    OnnxBuilder::floats_attr(*node, "qdq_scores", {0.023793994f, 125.f, 0.f, 255.f});
    OnnxBuilder::floats_attr(*node, "qdq_scaled", {scaled_scale, 125.f, 0.f, 255.f});
    Node n;
    n.name = "attention";
    n.attrs.set("num_heads", c.H);
    n.attrs.set("scale", 0.125f);
    n.attrs.set("qdq_scores", std::vector<float>{0.023793994f, 125.f, 0.f, 255.f});
    n.attrs.set("qdq_scaled", std::vector<float>{scaled_scale, 125.f, 0.f, 255.f});
    auto a = read_attention_attrs(n);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    EXPECT_EQ(a->scaled_pair_is_identity, identity) << scaled_scale;
    EXPECT_EQ(a->row_steps().scaled == nullptr, identity) << scaled_scale;
    // Scores large enough to use the codes' range: q, k in [-2, 2] over D = 5 -> |dot| <= 20.
    const std::string bytes = m.SerializeAsString();
    const auto in = random_inputs(c, 90, /*integer_qk=*/true);
    for (const char* disabled : {"", "fast_attention_f32"}) {
      SessionOptions o;
      if (*disabled) o.disabled_kernels = {disabled};
      auto run = testing::compare_with_reference(bytes, in, 1e-5, o);
      EXPECT_EQ(run.kernels.find("reference"), std::string::npos) << run.kernels;
    }
  }
}

TEST(AttentionImpls, bad_qdq_attributes_are_named_errors) {
  Case c = kCases[1];
  c.qdq_pairs = 8;
  OnnxBuilder b;
  std::string bytes = attention_model(c);
  onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromString(bytes));
  for (auto& a : *m.mutable_graph()->mutable_node(0)->mutable_attribute())
    if (a.name() == "qdq_probs") a.set_floats(0, -1.f);  // a negative scale
  bytes = m.SerializeAsString();
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), {});
  Status st = s.ok() ? (*s)->Run(random_inputs(c, 1)).status() : s.status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.to_string().find("qdq_probs"), std::string::npos) << st.to_string();
  EXPECT_NE(st.to_string().find("attention"), std::string::npos) << st.to_string();
  // A range wider than 8 bits (it would also size the scaled-pair check).
  for (auto& a : *m.mutable_graph()->mutable_node(0)->mutable_attribute())
    if (a.name() == "qdq_probs") a.set_floats(0, 0.01f), a.set_floats(3, 1e9f);
  bytes = m.SerializeAsString();
  s = Session::CreateFromBytes(bytes.data(), bytes.size(), {});
  st = s.ok() ? (*s)->Run(random_inputs(c, 1)).status() : s.status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.to_string().find("8-bit"), std::string::npos) << st.to_string();
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
    // A keep input that does not broadcast to the scores.
    Case causal = c;
    causal.causal = true;
    const std::string causal_bytes = attention_model(causal, /*symbolic=*/true);
    auto cs = Session::CreateFromBytes(causal_bytes.data(), causal_bytes.size(), o);
    ASSERT_TRUE(cs.ok()) << cs.status().to_string();
    auto cin = random_inputs(causal, 3);
    cin.back().tensor = Tensor::from_vector<bool>({c.Sq, c.Sk + 2}, std::vector<bool>(static_cast<size_t>(c.Sq * (c.Sk + 2)), true));
    r = (*cs)->Run(cin);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().to_string().find("keep"), std::string::npos) << r.status().to_string();
  }
}

}  // namespace
}  // namespace sparsert
