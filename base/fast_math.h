// Branch-free scalar float exp and erf that GCC auto-vectorizes at the
// baseline x86-64 ISA (no libm calls, no floorf: SSE2 has no round
// instruction). exp: Cephes polynomial, ~2 ulp on [-87, 88]; erf: Eigen's
// rational form x P(x^2) / Q(x^2) on x clamped to [-3.8325, 3.8325], at most
// 5.7 ulp (3.4e-7 abs) in float without FMA (Abramowitz & Stegun 7.1.26, used
// before, had 5.3e-7 abs and no relative accuracy near 0). Shared by the element-wise kernels (ops/fast) and the sparse kernels'
// epilogues (jit/spmm), which must not depend on ops/. The exact twins are
// std::exp / std::erf; tests/ops/fast_activations_test.cc compares them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

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

// No exp and one division (GELU in BERT's FFN epilogue was ~15% of a 90%
// sparse int8 inference on Zen 3 with 7.1.26 and its exp). Beyond +-3.8325
// erf rounds to +-1 in float; NaN passes through the clamps.
SPARSERT_FAST_MATH_INLINE float erf_f32(float x) {
  x = std::min(std::max(x, -3.832506856900711f), 3.832506856900711f);
  const float x2 = x * x;
  float p = 0.00022905065861350646f;
  p = p * x2 + 0.0034082910107109506f;
  p = p * x2 + 0.050955695062380861f;
  p = p * x2 + 0.18520832239976145f;
  p = p * x2 + 1.128379143519084f;
  float q = -1.1791602954361697e-7f;
  q = q * x2 + 0.000023547966471313185f;
  q = q * x2 + 0.0010179625278914885f;
  q = q * x2 + 0.014070470171167667f;
  q = q * x2 + 0.11098505178285362f;
  q = q * x2 + 0.49746925110067538f;
  q = q * x2 + 1.f;
  return std::min(std::max(x * p / q, -1.f), 1.f);  // the rational form overshoots 1 by ~1e-7
}

#ifdef __AVX2__
// exp_f32 on 8 lanes, bit-identical to it (the same IEEE operations in the
// same order, no FMA), for translation units built with AVX2. GCC's own
// vectorization of exp_f32 tracks the clamps through six blends; this is the
// plain sequence (0.63 vs 0.79 ns per value on Zen 3).
SPARSERT_FAST_MATH_INLINE __m256 exp_f32x8(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(88.3762626647949f), x);  // operand order: a NaN x stays NaN
  x = _mm256_max_ps(_mm256_set1_ps(-87.3365478515625f), x);
  __m256 fx = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
  fx = _mm256_add_ps(fx, _mm256_or_ps(_mm256_and_ps(fx, _mm256_set1_ps(-0.f)), _mm256_set1_ps(0.5f)));
  const __m256i n = _mm256_cvttps_epi32(fx);
  const __m256 nf = _mm256_cvtepi32_ps(n);
  x = _mm256_sub_ps(x, _mm256_mul_ps(nf, _mm256_set1_ps(0.693359375f)));
  x = _mm256_sub_ps(x, _mm256_mul_ps(nf, _mm256_set1_ps(-2.12194440e-4f)));
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_add_ps(_mm256_mul_ps(y, x), _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(y, x), x), x), _mm256_set1_ps(1.f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(bits));
}
#endif

#ifdef __AVX2__
// exp_f32x8 on four vectors with the steps interleaved: one exp is a ~75-cycle
// dependency chain, and the CPU's scheduler holds too few of them in flight
// when they come one after another (0.96 -> 0.83 ns per value on Zen 3).
SPARSERT_FAST_MATH_INLINE void exp_f32x8x4(__m256* v) {
#define SPARSERT_EACH4(stmt) for (int j = 0; j < 4; ++j) stmt
  __m256 x[4], fx[4], nf[4], y[4];
  __m256i n[4];
  SPARSERT_EACH4(x[j] = _mm256_min_ps(_mm256_set1_ps(88.3762626647949f), v[j]));
  SPARSERT_EACH4(x[j] = _mm256_max_ps(_mm256_set1_ps(-87.3365478515625f), x[j]));
  SPARSERT_EACH4(fx[j] = _mm256_mul_ps(x[j], _mm256_set1_ps(1.44269504088896341f)));
  SPARSERT_EACH4(fx[j] = _mm256_add_ps(fx[j], _mm256_or_ps(_mm256_and_ps(fx[j], _mm256_set1_ps(-0.f)), _mm256_set1_ps(0.5f))));
  SPARSERT_EACH4(n[j] = _mm256_cvttps_epi32(fx[j]));
  SPARSERT_EACH4(nf[j] = _mm256_cvtepi32_ps(n[j]));
  SPARSERT_EACH4(x[j] = _mm256_sub_ps(x[j], _mm256_mul_ps(nf[j], _mm256_set1_ps(0.693359375f))));
  SPARSERT_EACH4(x[j] = _mm256_sub_ps(x[j], _mm256_mul_ps(nf[j], _mm256_set1_ps(-2.12194440e-4f))));
  SPARSERT_EACH4(y[j] = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(1.9875691500e-4f), x[j]), _mm256_set1_ps(1.3981999507e-3f)));
  SPARSERT_EACH4(y[j] = _mm256_add_ps(_mm256_mul_ps(y[j], x[j]), _mm256_set1_ps(8.3334519073e-3f)));
  SPARSERT_EACH4(y[j] = _mm256_add_ps(_mm256_mul_ps(y[j], x[j]), _mm256_set1_ps(4.1665795894e-2f)));
  SPARSERT_EACH4(y[j] = _mm256_add_ps(_mm256_mul_ps(y[j], x[j]), _mm256_set1_ps(1.6666665459e-1f)));
  SPARSERT_EACH4(y[j] = _mm256_add_ps(_mm256_mul_ps(y[j], x[j]), _mm256_set1_ps(5.0000001201e-1f)));
  SPARSERT_EACH4(y[j] = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(y[j], x[j]), x[j]), x[j]), _mm256_set1_ps(1.f)));
  SPARSERT_EACH4(v[j] = _mm256_mul_ps(y[j], _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n[j], _mm256_set1_epi32(127)), 23))));
#undef SPARSERT_EACH4
}
#endif

// y[i] = exp_f32(x[i] - shift) (x may be y): 32 and 8 lanes at a time where
// the translation unit has AVX2.
SPARSERT_FAST_MATH_INLINE void exp_shifted_into(const float* x, float shift, float* y, int64_t n) {
  int64_t i = 0;
#ifdef __AVX2__
  const __m256 s = _mm256_set1_ps(shift);
  for (; i + 32 <= n; i += 32) {
    __m256 v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8 * j), s);
    exp_f32x8x4(v);
    for (int j = 0; j < 4; ++j) _mm256_storeu_ps(y + i + 8 * j, v[j]);
  }
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_f32x8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
#endif
  for (; i < n; ++i) y[i] = exp_f32(x[i] - shift);
}

// Float vector operations by register type, so the interleaved kernels below
// are written once for ymm (AVX2) and zmm (AVX-512) with the same operations.
// (Tag structs, not VecF<__m256>: template arguments drop the vector types' attributes.)
#ifdef __AVX2__
struct YmmF {
  using V = __m256;
  static constexpr int kLanes = 8;
  static __m256 set(float c) { return _mm256_set1_ps(c); }
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
  static __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
  static __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
  static __m256 div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
  static __m256 min(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
  static __m256 max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
};
#endif
#ifdef __AVX512F__
struct ZmmF {
  using V = __m512;
  static constexpr int kLanes = 16;
  static __m512 set(float c) { return _mm512_set1_ps(c); }
  static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
  static __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
  static __m512 mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
  static __m512 div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
  static __m512 min(__m512 a, __m512 b) { return _mm512_min_ps(a, b); }
  static __m512 max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
};
#endif

// erf_f32 on four vectors, steps interleaved (each is a ~70-cycle chain with
// two divisions), with the same IEEE operations in the same order; min/max
// take the constant first so that NaN passes through as in the scalar code.
template <typename O>
SPARSERT_FAST_MATH_INLINE void erf_x4(typename O::V* v) {
  using V = typename O::V;
#define SPARSERT_EACH4(stmt) for (int j = 0; j < 4; ++j) stmt
#define SPARSERT_HORNER(acc, c) SPARSERT_EACH4(acc[j] = O::add(O::mul(acc[j], x2[j]), O::set(c)))
  V x[4], x2[4], p[4], q[4];
  SPARSERT_EACH4(x[j] = O::min(O::set(3.832506856900711f), O::max(O::set(-3.832506856900711f), v[j])));
  SPARSERT_EACH4(x2[j] = O::mul(x[j], x[j]));
  SPARSERT_EACH4(p[j] = O::set(0.00022905065861350646f));
  SPARSERT_EACH4(q[j] = O::set(-1.1791602954361697e-7f));
  SPARSERT_HORNER(p, 0.0034082910107109506f);
  SPARSERT_HORNER(q, 0.000023547966471313185f);
  SPARSERT_HORNER(p, 0.050955695062380861f);
  SPARSERT_HORNER(q, 0.0010179625278914885f);
  SPARSERT_HORNER(p, 0.18520832239976145f);
  SPARSERT_HORNER(q, 0.014070470171167667f);
  SPARSERT_HORNER(p, 1.128379143519084f);
  SPARSERT_HORNER(q, 0.11098505178285362f);
  SPARSERT_HORNER(q, 0.49746925110067538f);
  SPARSERT_HORNER(q, 1.f);
  SPARSERT_EACH4(p[j] = O::div(O::mul(x[j], p[j]), q[j]));
  SPARSERT_EACH4(v[j] = O::min(O::set(1.f), O::max(O::set(-1.f), p[j])));
#undef SPARSERT_HORNER
#undef SPARSERT_EACH4
}

// GELU (erf form) on v[i..] in blocks of four vectors; returns where it stopped.
template <typename O>
SPARSERT_FAST_MATH_INLINE int64_t gelu_erf_x4_blocks(float* v, int64_t i, int64_t count) {
  using V = typename O::V;
  constexpr int kL = O::kLanes;
  const V sqrt2 = O::set(1.41421356237309505f), one = O::set(1.f), half = O::set(0.5f);
  for (; i + 4 * kL <= count; i += 4 * kL) {
    V x[4], e[4];
    for (int j = 0; j < 4; ++j) x[j] = O::load(v + i + kL * j), e[j] = O::div(x[j], sqrt2);
    erf_x4<O>(e);
    for (int j = 0; j < 4; ++j) O::store(v + i + kL * j, O::mul(O::mul(x[j], O::add(one, e[j])), half));
  }
  return i;
}

// GELU (erf form) in place, in the order PyTorch exports it (x / sqrt2 ->
// Erf -> + 1 -> x * . -> * 0.5), with erf_f32's operations: a fused layer gives
// the unfused graph's floats (a one-ulp change can flip the next layer's
// dynamic int8 rounding). zmm, then ymm blocks where the translation unit has them.
SPARSERT_FAST_MATH_INLINE void gelu_erf_in_place(float* v, int64_t count) {
  int64_t i = 0;
#ifdef __AVX512F__
  i = gelu_erf_x4_blocks<ZmmF>(v, i, count);
#endif
#ifdef __AVX2__
  i = gelu_erf_x4_blocks<YmmF>(v, i, count);
#endif
  for (; i < count; ++i) v[i] = (v[i] * (1.f + erf_f32(v[i] / 1.41421356237309505f))) * 0.5f;
}

// tanh through exp: 1 - 2 / (exp(2x) + 1); abs error ~1e-7 (cancellation near 0
// costs relative, not absolute, accuracy, which is what the GELU tanh form needs).
SPARSERT_FAST_MATH_INLINE float tanh_f32(float x) { return 1.f - 2.f / (exp_f32(2.f * x) + 1.f); }

// GELU's tanh form in place, as the SpMM epilogue and GPT-2's export compute it.
SPARSERT_FAST_MATH_INLINE void gelu_tanh_in_place(float* v, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    const float x = v[i];
    v[i] = 0.5f * x * (1.f + tanh_f32(0.7978845608028654f * (x + 0.044715f * x * x * x)));
  }
}

}  // namespace sparsert::fast
