#include "graph/passes/quantize_dynamic.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

#include "tests/graph/passes/pass_test_util.h"
#include "tests/onnx_builder.h"
#include "tests/ops/impl_tester.h"

namespace sparsert {
namespace {

using testing::OnnxBuilder;

constexpr int64_t K = 96, N = 40;

// x[seq, K] -> MatMul(W[K, N]) -> Add(bias); W pruned in 4x1 blocks (4
// consecutive output columns) to `sparsity`.
std::string linear_model(double sparsity) {
  std::mt19937 rng(21);
  std::vector<float> w = testing::randn(K * N, rng);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; n += 4)
      if (u(rng) < sparsity)
        for (int64_t i = n; i < n + 4; ++i) w[static_cast<size_t>(k * N + i)] = 0.f;
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).output("y");
  b.initializer("w", {K, N}, w);
  b.initializer("bias", {N}, testing::randn(N, rng));
  b.node("MatMul", {"x", "w"}, {"mm"}, "fc");
  b.node("Add", {"mm", "bias"}, {"y"}, "bias_add");
  return b.bytes();
}

// The model's reference plan (no passes) and a session with --quantize dynamic-int8.
void reference_and_quantized(const std::string& bytes, std::unique_ptr<Session>* ref, std::unique_ptr<Session>* q) {
  SessionOptions ref_opts, q_opts;
  ref_opts.optimization_level = 0;
  q_opts.quantize = "dynamic-int8";
  auto r = Session::CreateFromBytes(bytes.data(), bytes.size(), ref_opts);
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), q_opts);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  *ref = std::move(*r);
  *q = std::move(*s);
}

StatusOr<Graph> quantized(const std::string& bytes, const std::string& mode, int* count) {
  SPARSERT_ASSIGN_OR_RETURN(Graph g, import_onnx_bytes(bytes.data(), bytes.size()));
  passes::PassContext ctx;
  ctx.quantize = mode;
  SPARSERT_RETURN_IF_ERROR(passes::run_shape_inference(g, ctx).status());
  SPARSERT_ASSIGN_OR_RETURN(*count, passes::run_quantize_dynamic(g, ctx));
  return g;
}

TEST(QuantizeDynamic, pruned_matmul_becomes_ort_dynamic_int8_chain_with_per_column_weights) {
  int count = 0;
  auto g = quantized(linear_model(0.9), "dynamic-int8", &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 1);
  EXPECT_EQ(testing::count_op(*g, "MatMul"), 0);
  EXPECT_EQ(testing::count_op(*g, "DynamicQuantizeLinear"), 1);
  EXPECT_EQ(testing::count_op(*g, "MatMulInteger"), 1);
  EXPECT_EQ(testing::count_op(*g, "Cast"), 1);
  EXPECT_EQ(testing::count_op(*g, "Mul"), 2);
  const Node* mmi = nullptr;
  for (const Node& n : g->nodes())
    if (n.op_type == "MatMulInteger") mmi = &n;
  ASSERT_NE(mmi, nullptr);
  const Tensor& q = *g->value(mmi->inputs[1]).constant;
  ASSERT_EQ(q.dtype(), DType::kInt8);
  // Symmetric per column: each non-empty column reaches +-127; zeros stay zeros (the pattern is kept).
  auto w = import_onnx_bytes(linear_model(0.9).data(), linear_model(0.9).size());
  ASSERT_TRUE(w.ok());
  const Tensor& wf = *w->value(w->find_value("w")).constant;
  for (int64_t n = 0; n < N; ++n) {
    int amax = 0;
    for (int64_t k = 0; k < K; ++k) {
      const int v = q.data<int8_t>()[k * N + n];
      if (wf.data<float>()[k * N + n] == 0.f) {  // (tiny weights may round to 0 too)
        EXPECT_EQ(v, 0) << "k=" << k << " n=" << n;
      }
      amax = std::max(amax, std::abs(v));
    }
    EXPECT_TRUE(amax == 127 || amax == 0) << "column " << n;
  }
  EXPECT_EQ(g->value(g->find_value("w")).constant.has_value(), false) << "the float weight was released";
}

// x -> MatMul(w1) and MatMul(w2) (Q/K/V-style), then MatMul(w3) on the first
// product: the two on x share one DynamicQuantizeLinear; the third quantizes its own input.
TEST(QuantizeDynamic, matmuls_on_one_input_share_its_quantization) {
  std::mt19937 rng(22);
  auto pruned_weight = [&] {
    std::vector<float> w = testing::randn(K * K, rng);
    for (size_t i = 0; i < w.size(); ++i)
      if (i % 10 != 0) w[i] = 0.f;
    return w;
  };
  OnnxBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {-1, K}, {"seq"}).output("y2").output("y3");
  b.initializer("w1", {K, K}, pruned_weight());
  b.initializer("w2", {K, K}, pruned_weight());
  b.initializer("w3", {K, K}, pruned_weight());
  b.node("MatMul", {"x", "w1"}, {"y1"}, "q");
  b.node("MatMul", {"x", "w2"}, {"y2"}, "k");
  b.node("MatMul", {"y1", "w3"}, {"y3"}, "next");
  const std::string bytes = b.bytes();
  int count = 0;
  auto g = quantized(bytes, "dynamic-int8", &count);
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(count, 3);
  EXPECT_EQ(testing::count_op(*g, "MatMulInteger"), 3);
  EXPECT_EQ(testing::count_op(*g, "DynamicQuantizeLinear"), 2);
  std::vector<ValueId> x_quantized;
  for (const Node& n : g->nodes())
    if (n.op_type == "MatMulInteger") x_quantized.push_back(n.inputs[0]);
  ASSERT_EQ(x_quantized.size(), 3u);
  EXPECT_EQ(std::count(x_quantized.begin(), x_quantized.end(), x_quantized[0]) +
                std::count(x_quantized.begin(), x_quantized.end(), x_quantized[2]),
            3)
      << "two MatMulIntegers read one quantized x, the third its own";
  // And the session runs it: both outputs near the float model's.
  std::unique_ptr<Session> ref, q;
  reference_and_quantized(bytes, &ref, &q);
  ASSERT_TRUE(ref && q);
  const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({9, K}, testing::randn(9 * K, rng))}};
  auto want = ref->Run(in);
  auto got = q->Run(in);
  ASSERT_TRUE(want.ok() && got.ok());
  for (size_t i = 0; i < 2; ++i)
    EXPECT_EQ(testing::compare_tensors((*got)[i].tensor, (*want)[i].tensor, 5e-2), "") << "output " << i;
}

TEST(QuantizeDynamic, off_by_default_dense_weights_stay_float_and_bad_modes_are_errors) {
  int count = -1;
  auto g = quantized(linear_model(0.9), "", &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 0);
  g = quantized(linear_model(0.9), "none", &count);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 0);
  g = quantized(linear_model(0.0), "dynamic-int8", &count);  // the cost model keeps dense weights dense
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(count, 0);
  EXPECT_EQ(testing::count_op(*g, "MatMul"), 1);
  g = quantized(linear_model(0.9), "int4", &count);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("quantize must be none or dynamic-int8, got 'int4'"), std::string::npos);
  const std::string bytes = linear_model(0.9);
  SessionOptions bad;
  bad.quantize = "int4";
  auto s = Session::CreateFromBytes(bytes.data(), bytes.size(), bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'int4'"), std::string::npos) << s.status().message();
}

TEST(QuantizeDynamic, session_runs_the_sparse_int8_kernel_within_quantization_error) {
  const std::string bytes = linear_model(0.9);
  std::unique_ptr<Session> ref, q;
  reference_and_quantized(bytes, &ref, &q);
  ASSERT_TRUE(ref && q);
  EXPECT_NE(q->kernel_summary().find("sparse_integer_linear_u8s8 x1"), std::string::npos) << q->kernel_summary();
  std::mt19937 rng(3);
  for (int64_t seq : {1, 17}) {
    const std::vector<NamedTensor> in = {{"x", Tensor::from_vector<float>({seq, K}, testing::randn(seq * K, rng))}};
    auto a = ref->Run(in);
    auto b = q->Run(in);
    ASSERT_TRUE(a.ok() && b.ok());
    const Tensor &want = (*a)[0].tensor, &got = (*b)[0].tensor;
    double dot = 0, gg = 0, ww = 0;
    for (int64_t i = 0; i < want.num_elements(); ++i) {
      dot += double{got.data<float>()[i]} * want.data<float>()[i];
      gg += double{got.data<float>()[i]} * got.data<float>()[i];
      ww += double{want.data<float>()[i]} * want.data<float>()[i];
    }
    EXPECT_GE(dot / std::sqrt(gg * ww), 0.999) << "seq " << seq;
    EXPECT_EQ(testing::compare_tensors(got, want, 3e-2), "") << "seq " << seq;  // 8-bit activations and weights
    EXPECT_NE(testing::compare_tensors(got, want, 1e-7), "") << "seq " << seq << ": not quantized at all?";
  }
}

}  // namespace
}  // namespace sparsert
