#include "ops/fast/gemm_f32.h"

#include <cstdlib>
#include <cstring>

#include "jit/isa.h"

namespace sparsert::fast {

StatusOr<std::shared_ptr<const PackedWeightsF32>> PackedWeightsF32::pack(const Tensor& w, bool w_is_nk,
                                                                         const std::optional<Tensor>& bias) {
  if (w.dtype() != DType::kFloat32 || w.rank() != 2)
    return InvalidArgument("packed weights: expected a 2-D float tensor, got ", w.type_string());
  auto p = std::shared_ptr<PackedWeightsF32>(new PackedWeightsF32());
  p->K_ = w_is_nk ? w.dim(1) : w.dim(0);
  p->N_ = w_is_nk ? w.dim(0) : w.dim(1);
  const int64_t panels = p->panels();
  const size_t bytes = static_cast<size_t>(panels * p->K_ * kPanel) * sizeof(float);
  if (bytes > max_tensor_bytes()) return ResourceExhausted("packed weights of ", bytes, " bytes");
  void* mem = std::aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (!mem) return ResourceExhausted("packed weights of ", bytes, " bytes");
  p->data_ = std::unique_ptr<float[], void (*)(void*)>(static_cast<float*>(mem), std::free);
  std::memset(mem, 0, bytes);
  const float* src = w.data<float>();
  for (int64_t pn = 0; pn < panels; ++pn) {
    float* dst = p->data_.get() + pn * p->K_ * kPanel;
    for (int64_t k = 0; k < p->K_; ++k)
      for (int j = 0; j < kPanel; ++j) {
        const int64_t n = pn * kPanel + j;
        if (n < p->N_) dst[k * kPanel + j] = w_is_nk ? src[n * p->K_ + k] : src[k * p->N_ + n];
      }
  }
  if (bias) {
    if (bias->dtype() != DType::kFloat32 || bias->num_elements() != p->N_)
      return InvalidArgument("packed weights: bias ", bias->type_string(), " must have ", p->N_, " floats");
    p->bias_.assign(static_cast<size_t>(panels * kPanel), 0.f);
    std::memcpy(p->bias_.data(), bias->raw_data(), static_cast<size_t>(p->N_) * sizeof(float));
  }
  return std::shared_ptr<const PackedWeightsF32>(p);
}

bool gemm_f32_avx2_available(uint32_t isa_cap) {
  return jit::may_use(jit::kIsaAvx2, isa_cap);
}

void gemm_f32_reference(const float* x, int64_t M, int64_t lda, const PackedWeightsF32& w, float* y, int64_t ldy) {
  const int64_t K = w.K(), N = w.N();
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const float* panel = w.panel(n / PackedWeightsF32::kPanel);
      const int64_t j = n % PackedWeightsF32::kPanel;
      double acc = w.bias() ? w.bias()[n] : 0.0;
      for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(x[m * lda + k]) * panel[k * PackedWeightsF32::kPanel + j];
      y[m * ldy + n] = static_cast<float>(acc);
    }
}

}  // namespace sparsert::fast
