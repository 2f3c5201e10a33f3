// Dense f32 linear Y[M,N] = X[M,K] * W (W constant) on BERT-base shapes:
// sparsert's packed AVX2 GEMM against oneDNN's matmul with W as [N,K] (the
// layout onednn_linear_f32 uses). Counters: GFLOP/s. Threads via --threads
// style: set OMP_NUM_THREADS (default 1 here, like the e2e 1-thread figures).
//   ./build/perf/sparsert_microbench --benchmark_filter=gemm
#include <benchmark/benchmark.h>
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <vector>

#include "jit/isa.h"
#include "ops/fast/gemm_f32.h"

namespace {

using namespace sparsert;

struct Problem {
  int64_t M, N, K;
  std::vector<float> x, y;
  Tensor w_nk;
};

Problem make(int64_t M, int64_t N, int64_t K) {
  Problem p{M, N, K, std::vector<float>(static_cast<size_t>(M * K)), std::vector<float>(static_cast<size_t>(M * N)), {}};
  std::mt19937 rng(1);
  std::normal_distribution<float> d;
  for (float& v : p.x) v = d(rng);
  std::vector<float> w(static_cast<size_t>(N * K));
  for (float& v : w) v = d(rng);
  p.w_nk = Tensor::from_vector<float>({N, K}, w);
  return p;
}

void set_flops(benchmark::State& s, const Problem& p) {
  s.counters["GFLOP/s"] = benchmark::Counter(2.0 * p.M * p.N * p.K * static_cast<double>(s.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

void BM_gemm_sparsert_avx2(benchmark::State& s) {
  if (!fast::gemm_f32_avx2_available(jit::default_isa_cap())) { s.SkipWithError("no AVX2+FMA on this CPU"); return; }
  omp_set_num_threads(static_cast<int>(s.range(3)));
  Problem p = make(s.range(0), s.range(1), s.range(2));
  auto w = fast::PackedWeightsF32::pack(p.w_nk, true, std::nullopt);
  for (auto _ : s) fast::gemm_f32_avx2(p.x.data(), p.M, p.K, **w, p.y.data(), p.N);
  set_flops(s, p);
}

void BM_gemm_onednn(benchmark::State& s) {
  using namespace dnnl;
  omp_set_num_threads(static_cast<int>(s.range(3)));
  Problem p = make(s.range(0), s.range(1), s.range(2));
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  memory::desc a({p.M, p.K}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc c({p.M, p.N}, memory::data_type::f32, memory::format_tag::ab);
  memory::desc wd({p.K, p.N}, memory::data_type::f32, memory::format_tag::ba);
  matmul mm(matmul::primitive_desc(matmul::desc(a, wd, c), eng));
  memory ma(a, eng, p.x.data()), mc(c, eng, p.y.data()), mw(wd, eng, p.w_nk.raw_data());
  for (auto _ : s) {
    mm.execute(st, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_DST, mc}});
    st.wait();
  }
  set_flops(s, p);
}

// {M, N, K, threads}: BERT-base seq 128 (QKV/out, FFN up, FFN down), and decode-sized M.
void shapes(benchmark::internal::Benchmark* b) {
  const int64_t mnk[][3] = {{128, 768, 768}, {128, 3072, 768}, {128, 768, 3072},
                            {1, 3072, 768},   {8, 768, 768},    {61, 1000, 129}};
  for (int64_t threads : {1, 2})
    for (const auto& s : mnk) b->Args({s[0], s[1], s[2], threads});
  b->ArgNames({"M", "N", "K", "threads"})->Unit(benchmark::kMicrosecond)->UseRealTime();
}

BENCHMARK(BM_gemm_sparsert_avx2)->Apply(shapes);
BENCHMARK(BM_gemm_onednn)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
