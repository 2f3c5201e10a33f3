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

namespace {
// Round half to even for |v| < 2^22 by the 1.5 * 2^23 trick (exact in the
// default rounding mode; larger values are clamped first, which saturates the
// same way), so the loops vectorize at the baseline ISA (no roundps in SSE2).
inline int32_t requantize_one(int32_t acc, float mult, int32_t zero_point) {
  float v = static_cast<float>(acc) * mult;
  v = v < -4194304.f ? -4194304.f : (v > 4194304.f ? 4194304.f : v);
  const int32_t q = static_cast<int32_t>((v + 12582912.f) - 12582912.f) + zero_point;
  return q < 0 ? 0 : (q > 255 ? 255 : q);
}
}  // namespace

void requantize_u8_array(const int32_t* __restrict acc, int64_t n, float mult, int32_t zero_point,
                         uint8_t* __restrict y) noexcept {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<uint8_t>(requantize_one(acc[i], mult, zero_point));
}

void requantize_u8_rows(const int32_t* __restrict acc, int64_t rows, int64_t cols, const float* __restrict col_mult,
                        int32_t zero_point, uint8_t* __restrict y) noexcept {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      y[r * cols + c] = static_cast<uint8_t>(requantize_one(acc[r * cols + c], col_mult[c], zero_point));
}

}  // namespace sparsert::fast
