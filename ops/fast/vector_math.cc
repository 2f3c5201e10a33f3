#include "ops/fast/vector_math.h"

namespace sparsert::fast {

void exp_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_f32(x[i]);
}

void erf_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = erf_f32(x[i]);
}

void sigmoid_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.f / (1.f + exp_f32(-x[i]));
}

void gelu_erf_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * x[i] * (1.f + erf_f32(x[i] * 0.70710678118654752f));
}

void relu_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.f);
}

void clip_array(const float* __restrict x, float* __restrict y, int64_t n, float lo, float hi) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = std::min(std::max(x[i], lo), hi);
}

float exp_shifted_sum(const float* __restrict x, float shift, float* __restrict y, int64_t n) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = exp_f32(x[i] - shift);
  float sum = 0.f;
  for (int64_t i = 0; i < n; ++i) sum += y[i];
  return sum;
}

}  // namespace sparsert::fast
