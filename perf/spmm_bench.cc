// SpMM kernels against dense baselines measured in the same process:
//   spmm/<variant>/M:../N:../K:../sparsity:../threads:..   every row of jit/spmm/spmm_kernels.inc
//   dense/{f32_onednn,f32_openblas,u8s8_onednn}/M/N/K/threads
//   bandwidth/read/MiB:..   STREAM-like read bandwidth (the bound for small M)
// Counter "dense_GFLOP/s" counts 2*M*N*K for every case (dense-equivalent).
// perf/spmm_report.py runs this and joins rows into speedups.
#include <benchmark/benchmark.h>
#include <algorithm>
#include <cmath>
#include <omp.h>
#include <openblas-pthread/cblas.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <string>
#include <vector>

#include "jit/isa.h"
#include "jit/spmm/spmm.h"

namespace {

using namespace sparsert::jit;

struct Variant {
  const char* name;
  SpmmDType dtype;
  SpmmLayout layout;
  int band_rows;
  uint32_t isa;
  int k_block;
};
const Variant kVariants[] = {
#define SPARSERT_SPMM_KERNEL(name, dtype, layout, band_rows, isa, k_block) \
  {#name, SpmmDType::dtype, SpmmLayout::layout, band_rows, isa, k_block},
#include "jit/spmm/spmm_kernels.inc"
#undef SPARSERT_SPMM_KERNEL
};

struct Shape {
  int64_t m, n, k;
};
// BERT-base seq 128 (QKV/attention output, FFN up, FFN down) and decode-sized M.
const Shape kShapes[] = {{128, 768, 768}, {128, 3072, 768}, {128, 768, 3072},
                         {1, 4096, 4096}, {8, 4096, 4096},  {32, 4096, 4096}};
const int kSparsities[] = {50, 70, 80, 90, 95};
const int kThreads[] = {1, 2};

void set_rate(benchmark::State& s, const Shape& sh) {
  s.counters["dense_GFLOP/s"] = benchmark::Counter(2.0 * sh.m * sh.n * sh.k * static_cast<double>(s.iterations()) / 1e9,
                                                    benchmark::Counter::kIsRate);
}

// W (N x K) with `sparsity` of its blocks (rows x cols) zero.
template <typename T>
std::vector<T> sparse_weight(const Shape& sh, int rows, int cols, double sparsity, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<T> w(static_cast<size_t>(sh.n * sh.k));
  for (int64_t r = 0; r < sh.n; r += rows)
    for (int64_t c = 0; c < sh.k; c += cols) {
      const bool zero = unit(rng) < sparsity;
      for (int64_t i = r; i < std::min(sh.n, r + rows); ++i)
        for (int64_t j = c; j < std::min(sh.k, c + cols); ++j)
          w[static_cast<size_t>(i * sh.k + j)] = zero ? T(0) : static_cast<T>(1 + static_cast<int>(unit(rng) * 100));
    }
  return w;
}

// W (N x K) as symmetric per-channel int8 quantization writes it (normal
// weights scaled so each channel's largest is +-127): what the dense tiles
// see in ORT's quantize_static models (~2% of their weight pairs could
// saturate vpmaddubsw and go to the remainder), unlike sparse_weight's 1..100.
std::vector<int8_t> quantized_weight(const Shape& sh, double sparsity, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::normal_distribution<double> normal;
  std::vector<int8_t> w(static_cast<size_t>(sh.n * sh.k));
  std::vector<double> row(static_cast<size_t>(sh.k));
  for (int64_t r = 0; r < sh.n; ++r) {
    double peak = 1e-9;
    for (double& v : row) {
      v = unit(rng) < sparsity ? 0.0 : normal(rng);
      peak = std::max(peak, std::fabs(v));
    }
    for (int64_t c = 0; c < sh.k; ++c)
      w[static_cast<size_t>(r * sh.k + c)] = static_cast<int8_t>(std::lround(row[static_cast<size_t>(c)] / peak * 127.0));
  }
  return w;
}

void bench_spmm(benchmark::State& s, Variant v, Shape sh, int sparsity, int threads) {
  if (!may_use(v.isa, default_isa_cap())) {
    s.SkipWithError("this CPU lacks the variant's ISA");
    return;
  }
  omp_set_num_threads(threads);
  SpmmDesc d;
  d.n = sh.n;
  d.k = sh.k;
  d.dtype = v.dtype;
  d.layout = v.layout;
  d.band_rows = v.band_rows;
  d.k_block = v.k_block;
  d.isa_cap = v.isa;
  const bool f32 = v.dtype == SpmmDType::kF32;
  // 4x1 blocks for 4-row bands; 1-row bands: int8 1x4 blocks, f32 unstructured.
  const int rows = v.band_rows, cols = f32 || v.band_rows == 4 ? 1 : 4;
  std::vector<float> wf;
  std::vector<int8_t> wq;
  if (f32) {
    wf = sparse_weight<float>(sh, rows, cols, sparsity / 100.0, 3);
  } else if (v.layout == SpmmLayout::kDenseTiles) {
    wq = quantized_weight(sh, sparsity / 100.0, 3);
  } else {
    wq = sparse_weight<int8_t>(sh, rows, cols, sparsity / 100.0, 3);
  }
  d.out = f32 ? SpmmOut::kF32 : SpmmOut::kS32;
  auto spmm = Spmm::create(d, f32 ? static_cast<const void*>(wf.data()) : wq.data(), sh.k, 1);
  if (!spmm.ok()) {
    s.SkipWithError(spmm.status().to_string().c_str());
    return;
  }
  std::vector<float> xf(static_cast<size_t>(sh.m * sh.k), 0.5f), y(static_cast<size_t>(sh.m * sh.n));
  std::vector<uint8_t> xq(static_cast<size_t>(sh.m * sh.k), 100);
  SpmmRunArgs a;
  a.m = sh.m;
  a.x = f32 ? static_cast<const void*>(xf.data()) : xq.data();
  a.ldx = sh.k;
  a.y = y.data();
  a.ldy = sh.n;
  for (auto _ : s) {
    if (!(*spmm)->run(a, threads).ok()) {
      s.SkipWithError("run failed");
      return;
    }
  }
  set_rate(s, sh);
  s.counters["packed_MiB"] = static_cast<double>((*spmm)->packed_bytes()) / (1 << 20);
  s.counters["weight_GB/s"] = benchmark::Counter(static_cast<double>((*spmm)->packed_bytes()) *
                                                     static_cast<double>(s.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
  s.SetLabel((*spmm)->impl_name());
}

void bench_onednn(benchmark::State& s, bool int8, Shape sh, int threads) {
  using namespace dnnl;
  omp_set_num_threads(threads);
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  const auto xt = int8 ? memory::data_type::u8 : memory::data_type::f32;
  const auto wt = int8 ? memory::data_type::s8 : memory::data_type::f32;
  const auto yt = int8 ? memory::data_type::s32 : memory::data_type::f32;
  memory::desc a({sh.m, sh.k}, xt, memory::format_tag::ab);
  memory::desc c({sh.m, sh.n}, yt, memory::format_tag::ab);
  memory::desc wany({sh.k, sh.n}, wt, memory::format_tag::any);
  memory::desc wplain({sh.k, sh.n}, wt, memory::format_tag::ba);
  matmul::primitive_desc pd(matmul::desc(a, wany, c), eng);
  matmul mm(pd);
  std::vector<uint8_t> xbuf(static_cast<size_t>(sh.m * sh.k) * 4, 1), ybuf(static_cast<size_t>(sh.m * sh.n) * 4);
  std::vector<uint8_t> wbuf(static_cast<size_t>(sh.n * sh.k) * 4, 1);
  memory wsrc(wplain, eng, wbuf.data()), w(pd.weights_desc(), eng);
  reorder(wsrc, w).execute(st, wsrc, w);  // weights packed once, as sessions do
  memory ma(a, eng, xbuf.data()), mc(c, eng, ybuf.data());
  for (auto _ : s) {
    mm.execute(st, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, mc}});
    st.wait();
  }
  set_rate(s, sh);
}

void bench_openblas(benchmark::State& s, Shape sh, int threads) {
  openblas_set_num_threads(threads);
  std::vector<float> x(static_cast<size_t>(sh.m * sh.k), 0.5f), w(static_cast<size_t>(sh.n * sh.k), 0.25f),
      y(static_cast<size_t>(sh.m * sh.n));
  for (auto _ : s)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(sh.m), static_cast<int>(sh.n),
                static_cast<int>(sh.k), 1.f, x.data(), static_cast<int>(sh.k), w.data(), static_cast<int>(sh.k), 0.f,
                y.data(), static_cast<int>(sh.n));
  set_rate(s, sh);
}

// Sum of a buffer far larger than the last-level cache, read with 2 threads or 1.
void bench_read_bandwidth(benchmark::State& s, int64_t mib, int threads) {
  std::vector<int64_t> buf(static_cast<size_t>(mib) * (1 << 20) / sizeof(int64_t), 1);
  const int64_t n = static_cast<int64_t>(buf.size());
  int64_t total = 0;
  for (auto _ : s) {
    int64_t sum = 0;
#pragma omp parallel for reduction(+ : sum) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) sum += buf[static_cast<size_t>(i)];
    total += sum;
  }
  benchmark::DoNotOptimize(total);
  s.counters["read_GB/s"] = benchmark::Counter(static_cast<double>(mib) * (1 << 20) * static_cast<double>(s.iterations()) / 1e9,
                                               benchmark::Counter::kIsRate);
}

std::string shape_name(const Shape& sh) {
  return "M:" + std::to_string(sh.m) + "/N:" + std::to_string(sh.n) + "/K:" + std::to_string(sh.k);
}

int register_all() {
  for (int threads : kThreads) {
    for (const Shape& sh : kShapes) {
      const std::string tail = shape_name(sh) + "/threads:" + std::to_string(threads);
      for (const Variant& v : kVariants)
        for (int sp : kSparsities) {
          // The dense tiles: measured once per shape, on dense weights.
          if (v.layout == SpmmLayout::kDenseTiles && sp != kSparsities[0]) continue;
          if (v.layout == SpmmLayout::kDenseTiles) sp = 0;
          benchmark::RegisterBenchmark(("spmm/" + std::string(v.name) + "/" + shape_name(sh) + "/sparsity:" +
                                        std::to_string(sp) + "/threads:" + std::to_string(threads))
                                           .c_str(),
                                       bench_spmm, v, sh, sp, threads)
              ->Unit(benchmark::kMicrosecond)
              ->UseRealTime();
        }
      benchmark::RegisterBenchmark(("dense/f32_onednn/" + tail).c_str(), bench_onednn, false, sh, threads)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
      benchmark::RegisterBenchmark(("dense/f32_openblas/" + tail).c_str(), bench_openblas, sh, threads)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
      benchmark::RegisterBenchmark(("dense/u8s8_onednn/" + tail).c_str(), bench_onednn, true, sh, threads)
          ->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
    benchmark::RegisterBenchmark(("bandwidth/read/MiB:512/threads:" + std::to_string(threads)).c_str(),
                                 bench_read_bandwidth, 512, threads)
        ->Unit(benchmark::kMicrosecond)->UseRealTime();
  }
  return 0;
}
const int registered = register_all();

}  // namespace
