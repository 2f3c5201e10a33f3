// Dense f32 GEMM for constant weights: Y[M,N] = X[M,K] * W[K,N] (+ bias),
// with W packed once into 16-column panels (K x 16 floats each, zero-padded),
// a 6x16 AVX2+FMA register-tile micro-kernel over K blocks that stay in L1,
// and the N panels split over the session's threads. oneDNN 2.6's f32 matmul
// reaches ~60 GFLOP/s per Zen 3 core on BERT shapes; this is the path that has
// to beat it (and it is the dense baseline the sparse kernels are measured
// against). gemm_f32_reference() is its plain twin for tests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/status.h"
#include "graph/tensor.h"

namespace sparsert::fast {

class PackedWeightsF32 {
 public:
  static constexpr int kPanel = 16;  // output columns per panel (two ymm registers)
  // w is [K,N], or [N,K] when w_is_nk; bias (optional) has N values.
  static StatusOr<std::shared_ptr<const PackedWeightsF32>> pack(const Tensor& w, bool w_is_nk,
                                                                const std::optional<Tensor>& bias);
  int64_t K() const { return K_; }
  int64_t N() const { return N_; }
  int64_t panels() const { return (N_ + kPanel - 1) / kPanel; }
  // Panel p: K rows of 16 floats.
  const float* panel(int64_t p) const { return data_.get() + p * K_ * kPanel; }
  // N rounded up to whole panels, zeros past N (nullptr when there is no bias).
  const float* bias() const { return bias_.empty() ? nullptr : bias_.data(); }

 private:
  int64_t K_ = 0, N_ = 0;
  std::unique_ptr<float[], void (*)(void*)> data_{nullptr, nullptr};
  std::vector<float> bias_;
};

// True when the AVX2+FMA kernel may run under the ISA cap (jit::Isa bits).
bool gemm_f32_avx2_available(uint32_t isa_cap);
// What runs on Y after the product, per thread on the columns it computed
// while they are still in cache: the activation in place, then + residual.
struct GemmEpilogue {
  enum class Act { kNone, kRelu, kGeluErf, kGeluTanh } act = Act::kNone;
  const float* residual = nullptr;  // [M, N], ld_residual apart
  int64_t ld_residual = 0;
};
// Y = X * W (+ bias), then the epilogue; X rows are lda apart, Y rows ldy
// apart. Parallel over panels.
void gemm_f32_avx2(const float* x, int64_t M, int64_t lda, const PackedWeightsF32& w, float* y, int64_t ldy,
                   const GemmEpilogue& epilogue = {});
// The plain twin (double accumulation), for tests.
void gemm_f32_reference(const float* x, int64_t M, int64_t lda, const PackedWeightsF32& w, float* y, int64_t ldy);

}  // namespace sparsert::fast
