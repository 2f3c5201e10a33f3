// Branch-free scalar float exp and erf that GCC auto-vectorizes at the
// baseline x86-64 ISA (no libm calls, no floorf: SSE2 has no round
// instruction). exp: Cephes polynomial, ~2 ulp on [-87, 88]; erf: Abramowitz &
// Stegun 7.1.26, max abs error 1.5e-7 in exact arithmetic, 3.7e-7 measured in
// float. Shared by the element-wise kernels (ops/fast) and the sparse kernels'
// epilogues (jit/spmm), which must not depend on ops/. The exact twins are
// std::exp / std::erf; tests/ops/fast_activations_test.cc compares them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

// Always inlined: ops/fast/vector_math_avx2.cc compiles these with AVX2 while
// other files use the baseline ISA; an out-of-line copy shared by both (ODR
// merging) could run AVX2 code on a CPU without it.
#define SPARSERT_FAST_MATH_INLINE [[gnu::always_inline]] inline

namespace sparsert::fast {

// Written without ternaries (min/max/copysign/fabs map to single SSE
// instructions): a branch in the body stops the loops from vectorizing.
SPARSERT_FAST_MATH_INLINE float exp_f32(float x) {
  x = std::min(x, 88.3762626647949f);
  x = std::max(x, -87.3365478515625f);
  float fx = x * 1.44269504088896341f;
  fx += std::copysign(0.5f, fx);
  const int32_t n = static_cast<int32_t>(fx);  // round to nearest
  const float nf = static_cast<float>(n);
  x -= nf * 0.693359375f;
  x -= nf * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * x * x + x + 1.f;
  const int32_t bits = (n + 127) << 23;  // 2^n; n in [-126, 127] after the clamps
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return y * scale;
}

SPARSERT_FAST_MATH_INLINE float erf_f32(float x) {
  const float ax = std::fabs(x);
  const float t = 1.f / (1.f + 0.3275911f * ax);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float r = 1.f - p * t * exp_f32(-ax * ax);
  return std::copysign(r, x);
}

// tanh through exp: 1 - 2 / (exp(2x) + 1); abs error ~1e-7 (cancellation near 0
// costs relative, not absolute, accuracy, which is what the GELU tanh form needs).
SPARSERT_FAST_MATH_INLINE float tanh_f32(float x) { return 1.f - 2.f / (exp_f32(2.f * x) + 1.f); }

}  // namespace sparsert::fast
