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

// Float vector operations by register type, so the interleaved kernels below
// are written once for ymm (AVX2) and zmm (AVX-512) with the same operations.
// (Tag structs, not VecF<__m256>: template arguments drop the vector types'
// attributes.) Always inlined like the functions above: an out-of-line copy
// from an AVX-512 translation unit (EVEX-encoded ymm code) could otherwise be
// the one the linker keeps for the AVX2 ones.
#ifdef __AVX2__
struct YmmF {
  using V = __m256;
  using I = __m256i;
  static constexpr int kLanes = 8;
  SPARSERT_FAST_MATH_INLINE static __m256 set(float c) { return _mm256_set1_ps(c); }
  SPARSERT_FAST_MATH_INLINE static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  SPARSERT_FAST_MATH_INLINE static void store(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
  SPARSERT_FAST_MATH_INLINE static __m256 add(__m256 a, __m256 b) { return _mm256_add_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m256 sub(__m256 a, __m256 b) { return _mm256_sub_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m256 mul(__m256 a, __m256 b) { return _mm256_mul_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m256 div(__m256 a, __m256 b) { return _mm256_div_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m256 min(__m256 a, __m256 b) { return _mm256_min_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m256 max(__m256 a, __m256 b) { return _mm256_max_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m256 bit_and(__m256 a, __m256 b) { return _mm256_and_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m256 bit_or(__m256 a, __m256 b) { return _mm256_or_ps(a, b); }
  // Round to nearest, ties to even (vroundps).
  SPARSERT_FAST_MATH_INLINE static __m256 round_even(__m256 a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  SPARSERT_FAST_MATH_INLINE static __m256i to_int_trunc(__m256 a) { return _mm256_cvttps_epi32(a); }
  SPARSERT_FAST_MATH_INLINE static __m256 to_float(__m256i a) { return _mm256_cvtepi32_ps(a); }
  SPARSERT_FAST_MATH_INLINE static __m256i load_int(const int32_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  // 8 bytes widened to 8 int32.
  SPARSERT_FAST_MATH_INLINE static __m256i load_int(const uint8_t* p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  SPARSERT_FAST_MATH_INLINE static __m256i load_int(const int8_t* p) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  // 2^n as a float for n in [-126, 127] (the exponent field n + 127).
  SPARSERT_FAST_MATH_INLINE static __m256 pow2(__m256i n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23));
  }
};
#endif
#ifdef __AVX512F__
struct ZmmF {
  using V = __m512;
  using I = __m512i;
  static constexpr int kLanes = 16;
  SPARSERT_FAST_MATH_INLINE static __m512 set(float c) { return _mm512_set1_ps(c); }
  SPARSERT_FAST_MATH_INLINE static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
  SPARSERT_FAST_MATH_INLINE static void store(float* p, __m512 v) { _mm512_storeu_ps(p, v); }
  SPARSERT_FAST_MATH_INLINE static __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m512 sub(__m512 a, __m512 b) { return _mm512_sub_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m512 mul(__m512 a, __m512 b) { return _mm512_mul_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m512 div(__m512 a, __m512 b) { return _mm512_div_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m512 min(__m512 a, __m512 b) { return _mm512_min_ps(a, b); }
  SPARSERT_FAST_MATH_INLINE static __m512 max(__m512 a, __m512 b) { return _mm512_max_ps(a, b); }
  // (Integer and/or: the float forms need AVX512DQ.)
  SPARSERT_FAST_MATH_INLINE static __m512 bit_and(__m512 a, __m512 b) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  }
  SPARSERT_FAST_MATH_INLINE static __m512 bit_or(__m512 a, __m512 b) {
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)));
  }
  SPARSERT_FAST_MATH_INLINE static __m512 round_even(__m512 a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  SPARSERT_FAST_MATH_INLINE static __m512i to_int_trunc(__m512 a) { return _mm512_cvttps_epi32(a); }
  SPARSERT_FAST_MATH_INLINE static __m512 to_float(__m512i a) { return _mm512_cvtepi32_ps(a); }
  SPARSERT_FAST_MATH_INLINE static __m512i load_int(const int32_t* p) { return _mm512_loadu_si512(p); }
  // 16 bytes widened to 16 int32.
  SPARSERT_FAST_MATH_INLINE static __m512i load_int(const uint8_t* p) {
    return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  SPARSERT_FAST_MATH_INLINE static __m512i load_int(const int8_t* p) {
    return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  SPARSERT_FAST_MATH_INLINE static __m512 pow2(__m512i n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
  }
};
#endif

// exp_f32 on K vectors with the steps interleaved, bit-identical to it (the
// same IEEE operations in the same order, no FMA). GCC's own vectorization of
// exp_f32 tracks the clamps through six blends; this is the plain sequence
// (0.63 vs 0.79 ns per value on Zen 3). One exp is a ~75-cycle dependency
// chain, and the CPU's scheduler holds too few of them in flight when they
// come one after another: K = 4 (0.96 -> 0.83 ns per value on Zen 3).
template <typename O, int K>
SPARSERT_FAST_MATH_INLINE void exp_xk(typename O::V* v) {
#define SPARSERT_EACH(stmt) for (int j = 0; j < K; ++j) stmt
  typename O::V x[K], fx[K], nf[K], y[K];
  typename O::I n[K];
  SPARSERT_EACH(x[j] = O::min(O::set(88.3762626647949f), v[j]));  // operand order: a NaN x stays NaN
  SPARSERT_EACH(x[j] = O::max(O::set(-87.3365478515625f), x[j]));
  SPARSERT_EACH(fx[j] = O::mul(x[j], O::set(1.44269504088896341f)));
  SPARSERT_EACH(fx[j] = O::add(fx[j], O::bit_or(O::bit_and(fx[j], O::set(-0.f)), O::set(0.5f))));
  SPARSERT_EACH(n[j] = O::to_int_trunc(fx[j]));
  SPARSERT_EACH(nf[j] = O::to_float(n[j]));
  SPARSERT_EACH(x[j] = O::sub(x[j], O::mul(nf[j], O::set(0.693359375f))));
  SPARSERT_EACH(x[j] = O::sub(x[j], O::mul(nf[j], O::set(-2.12194440e-4f))));
  SPARSERT_EACH(y[j] = O::add(O::mul(O::set(1.9875691500e-4f), x[j]), O::set(1.3981999507e-3f)));
  SPARSERT_EACH(y[j] = O::add(O::mul(y[j], x[j]), O::set(8.3334519073e-3f)));
  SPARSERT_EACH(y[j] = O::add(O::mul(y[j], x[j]), O::set(4.1665795894e-2f)));
  SPARSERT_EACH(y[j] = O::add(O::mul(y[j], x[j]), O::set(1.6666665459e-1f)));
  SPARSERT_EACH(y[j] = O::add(O::mul(y[j], x[j]), O::set(5.0000001201e-1f)));
  SPARSERT_EACH(y[j] = O::add(O::add(O::mul(O::mul(y[j], x[j]), x[j]), x[j]), O::set(1.f)));
  SPARSERT_EACH(v[j] = O::mul(y[j], O::pow2(n[j])));
#undef SPARSERT_EACH
}

// y[i] = exp_f32(x[i] - shift) (x may be y) on i in [i, n): blocks of four
// vectors, then single vectors; returns where it stopped.
template <typename O>
SPARSERT_FAST_MATH_INLINE int64_t exp_shifted_blocks(const float* x, float shift, float* y, int64_t i, int64_t n) {
  constexpr int kL = O::kLanes;
  const typename O::V s = O::set(shift);
  for (; i + 4 * kL <= n; i += 4 * kL) {
    typename O::V v[4];
    for (int j = 0; j < 4; ++j) v[j] = O::sub(O::load(x + i + kL * j), s);
    exp_xk<O, 4>(v);
    for (int j = 0; j < 4; ++j) O::store(y + i + kL * j, v[j]);
  }
  for (; i + kL <= n; i += kL) {
    typename O::V v = O::sub(O::load(x + i), s);
    exp_xk<O, 1>(&v);
    O::store(y + i, v);
  }
  return i;
}

// y[i] = exp_f32(x[i] - shift) (x may be y): zmm, then ymm vectors where the
// translation unit has them.
SPARSERT_FAST_MATH_INLINE void exp_shifted_into(const float* x, float shift, float* y, int64_t n) {
  int64_t i = 0;
#ifdef __AVX512F__
  i = exp_shifted_blocks<ZmmF>(x, shift, y, i, n);
#endif
#ifdef __AVX2__
  i = exp_shifted_blocks<YmmF>(x, shift, y, i, n);
#endif
  for (; i < n; ++i) y[i] = exp_f32(x[i] - shift);
}

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

// GELU (erf form, gelu_erf_in_place's operations) on four vectors in registers.
template <typename O>
SPARSERT_FAST_MATH_INLINE void gelu_erf_x4(typename O::V* x) {
  using V = typename O::V;
  const V sqrt2 = O::set(1.41421356237309505f), one = O::set(1.f), half = O::set(0.5f);
  V e[4];
  for (int j = 0; j < 4; ++j) e[j] = O::div(x[j], sqrt2);
  erf_x4<O>(e);
  for (int j = 0; j < 4; ++j) x[j] = O::mul(O::mul(x[j], O::add(one, e[j])), half);
}

// GELU (erf form) on v[i..] in blocks of four vectors; returns where it stopped.
template <typename O>
SPARSERT_FAST_MATH_INLINE int64_t gelu_erf_x4_blocks(float* v, int64_t i, int64_t count) {
  constexpr int kL = O::kLanes;
  for (; i + 4 * kL <= count; i += 4 * kL) {
    typename O::V x[4];
    for (int j = 0; j < 4; ++j) x[j] = O::load(v + i + kL * j);
    gelu_erf_x4<O>(x);
    for (int j = 0; j < 4; ++j) O::store(v + i + kL * j, x[j]);
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
