// The packed AVX2 GEMM against its reference twin: random sizes with tails in
// every dimension (M not a multiple of 6, N not of 16, K not of the 256 block),
// both weight layouts, with and without bias, strided rows, 1 and 2 threads.
#include "ops/fast/gemm_f32.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>

#include "jit/isa.h"

namespace sparsert::fast {
namespace {

TEST(GemmF32, avx2_matches_reference_on_random_shapes) {
  if (!gemm_f32_avx2_available(jit::default_isa_cap())) GTEST_SKIP() << "this CPU (or SPARSERT_ISA) has no AVX2+FMA";
  std::mt19937 rng(5);
  std::normal_distribution<float> d;
  const int64_t dims[][3] = {{1, 1, 1}, {6, 16, 256}, {7, 17, 257}, {13, 35, 600}, {128, 48, 31}, {5, 3, 0}, {0, 8, 8}};
  for (int trial = 0; trial < 20; ++trial) {
    int64_t M, N, K;
    if (trial < 7) { M = dims[trial][0]; N = dims[trial][1]; K = dims[trial][2]; }
    else { M = 1 + rng() % 40; N = 1 + rng() % 70; K = 1 + rng() % 700; }
    const bool nk = trial % 2, with_bias = trial % 3 != 0;
    const int64_t lda = K + trial % 3, ldy = N + trial % 2;  // strided rows
    std::vector<float> x(static_cast<size_t>(std::max<int64_t>(1, M * lda))), w(static_cast<size_t>(std::max<int64_t>(1, N * K))),
        b(static_cast<size_t>(std::max<int64_t>(1, N)));
    for (float& v : x) v = d(rng);
    for (float& v : w) v = d(rng);
    for (float& v : b) v = d(rng);
    Tensor wt = Tensor::from_vector<float>(nk ? Shape{N, K} : Shape{K, N}, w);
    std::optional<Tensor> bias;
    if (with_bias) bias = Tensor::from_vector<float>({N}, b);
    auto packed = PackedWeightsF32::pack(wt, nk, bias);
    ASSERT_TRUE(packed.ok()) << packed.status().to_string();
    std::vector<float> got(static_cast<size_t>(std::max<int64_t>(1, M * ldy)), -7.f), want = got;
    omp_set_num_threads(1 + trial % 2);
    gemm_f32_avx2(x.data(), M, lda, **packed, got.data(), ldy);
    gemm_f32_reference(x.data(), M, lda, **packed, want.data(), ldy);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < ldy; ++n) {
        const size_t i = static_cast<size_t>(m * ldy + n);
        if (n >= N) { ASSERT_EQ(got[i], -7.f) << "wrote past N at row " << m; continue; }
        ASSERT_NEAR(got[i], want[i], 1e-4f * (1.f + std::sqrt(static_cast<float>(K))))
            << "M=" << M << " N=" << N << " K=" << K << " at " << m << "," << n;
      }
  }
}

// The epilogue (activation, then residual) on each thread's columns equals the
// plain product followed by the exact activation and the residual add.
TEST(GemmF32, epilogue_applies_activation_then_residual) {
  if (!gemm_f32_avx2_available(jit::default_isa_cap())) GTEST_SKIP() << "this CPU (or SPARSERT_ISA) has no AVX2+FMA";
  std::mt19937 rng(9);
  std::normal_distribution<float> d(0.f, 2.f);
  using Act = GemmEpilogue::Act;
  const int64_t M = 13, N = 37, K = 70;
  std::vector<float> x(M * K), w(K * N), b(N), r(M * N);
  for (float* v : {x.data(), w.data(), b.data(), r.data()})
    for (int64_t i = 0; i < (v == x.data() ? M * K : v == w.data() ? K * N : v == b.data() ? N : M * N); ++i) v[i] = d(rng);
  auto packed = PackedWeightsF32::pack(Tensor::from_vector<float>({K, N}, w), false, Tensor::from_vector<float>({N}, b));
  ASSERT_TRUE(packed.ok());
  std::vector<float> plain(M * N);
  gemm_f32_avx2(x.data(), M, K, **packed, plain.data(), N);
  for (Act act : {Act::kNone, Act::kRelu, Act::kGeluErf, Act::kGeluTanh})
    for (bool residual : {false, true})
      for (int threads : {1, 2}) {
        omp_set_num_threads(threads);
        GemmEpilogue e;
        e.act = act;
        e.residual = residual ? r.data() : nullptr;
        e.ld_residual = N;
        std::vector<float> got(M * N);
        gemm_f32_avx2(x.data(), M, K, **packed, got.data(), N, e);
        for (int64_t i = 0; i < M * N; ++i) {
          const double v = plain[i];
          double want = v;
          if (act == Act::kRelu) want = std::max(v, 0.0);
          if (act == Act::kGeluErf) want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
          if (act == Act::kGeluTanh) want = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
          if (residual) want += r[i];
          ASSERT_NEAR(got[i], want, 2e-6 * (1.0 + std::fabs(want))) << "act " << static_cast<int>(act) << " i=" << i;
        }
      }
}

TEST(GemmF32, packing_rejects_bad_inputs) {
  Tensor w = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_FALSE(PackedWeightsF32::pack(Tensor::from_vector<int64_t>({2}, {1, 2}), false, std::nullopt).ok());
  EXPECT_FALSE(PackedWeightsF32::pack(w, false, Tensor::from_vector<float>({2}, {1, 2})).ok());  // bias needs N=3
  auto p = PackedWeightsF32::pack(w, false, std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->K(), 2);
  EXPECT_EQ((*p)->N(), 3);
  EXPECT_EQ((*p)->panel(0)[1 * PackedWeightsF32::kPanel + 2], 6.f);  // W[1][2]
  EXPECT_EQ((*p)->panel(0)[5], 0.f);                                 // padding
}

}  // namespace
}  // namespace sparsert::fast
