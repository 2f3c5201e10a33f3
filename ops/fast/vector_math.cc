// The baseline build of the array loops and the entry points that dispatch
// between it and the AVX2 and AVX-512 builds (vector_math_avx2.cc,
// vector_math_avx512.cc).
#include "ops/fast/vector_math.h"

#include <emmintrin.h>

#include "jit/isa.h"

namespace sparsert::fast {

namespace baseline {
#include "ops/fast/vector_math_loops.inc"
}  // namespace baseline

int vector_math_build() {
  static const int build = jit::may_use(jit::kIsaAvx512, jit::default_isa_cap()) ? 2
                           : jit::may_use(jit::kIsaAvx2, jit::default_isa_cap()) ? 1
                                                                                  : 0;
  return build;
}

// Each entry point forwards its arguments to the widest build the CPU allows.
#define SPARSERT_DISPATCH(ret, name, params, args)                                           \
  ret name params noexcept {                                                                 \
    switch (vector_math_build()) {                                                           \
      case 2: return avx512::name args;                                                      \
      case 1: return avx2::name args;                                                        \
      default: return baseline::name args;                                                   \
    }                                                                                        \
  }

SPARSERT_DISPATCH(void, exp_array, (const float* __restrict x, float* __restrict y, int64_t n), (x, y, n))
SPARSERT_DISPATCH(void, erf_array, (const float* __restrict x, float* __restrict y, int64_t n), (x, y, n))
SPARSERT_DISPATCH(void, sigmoid_array, (const float* __restrict x, float* __restrict y, int64_t n), (x, y, n))
SPARSERT_DISPATCH(void, gelu_erf_array, (const float* __restrict x, float* __restrict y, int64_t n), (x, y, n))
SPARSERT_DISPATCH(void, gelu_erf_in_place_array, (float* x, int64_t n), (x, n))
SPARSERT_DISPATCH(void, gelu_tanh_in_place_array, (float* x, int64_t n), (x, n))
SPARSERT_DISPATCH(void, relu_array, (const float* __restrict x, float* __restrict y, int64_t n), (x, y, n))
SPARSERT_DISPATCH(void, clip_array, (const float* __restrict x, float* __restrict y, int64_t n, float lo, float hi),
                  (x, y, n, lo, hi))
SPARSERT_DISPATCH(void, min_max_with_zero, (const float* __restrict x, int64_t n, float* lo, float* hi), (x, n, lo, hi))
SPARSERT_DISPATCH(float, exp_shifted_sum, (const float* __restrict x, float shift, float* __restrict y, int64_t n),
                  (x, shift, y, n))
SPARSERT_DISPATCH(void, softmax_rows, (const float* __restrict x, float* __restrict y, int64_t rows, int64_t n),
                  (x, y, rows, n))
SPARSERT_DISPATCH(void, scaled_masked_softmax_rows,
                  (float* x, int64_t rows, int64_t n, float scale, bool divide, const float* __restrict mask,
                   int64_t mask_row_stride, int64_t mask_col_stride, const AttentionRowSteps* steps),
                  (x, rows, n, scale, divide, mask, mask_row_stride, mask_col_stride, steps))
SPARSERT_DISPATCH(void, layer_norm_rows,
                  (const float* __restrict x, const float* __restrict scale, const float* __restrict bias,
                   float* __restrict y, int64_t rows, int64_t n, float eps),
                  (x, scale, bias, y, rows, n, eps))
SPARSERT_DISPATCH(void, requantize_u8_array,
                  (const int32_t* __restrict acc, int64_t n, float mult, int32_t zero_point, uint8_t* __restrict y),
                  (acc, n, mult, zero_point, y))
SPARSERT_DISPATCH(void, requantize_u8_rows,
                  (const int32_t* __restrict acc, int64_t rows, int64_t cols, const float* __restrict col_mult,
                   int32_t zero_point, uint8_t* __restrict y),
                  (acc, rows, cols, col_mult, zero_point, y))
SPARSERT_DISPATCH(void, quantize_u8_array,
                  (const float* __restrict x, int64_t n, float scale, float zp, uint8_t* __restrict y),
                  (x, n, scale, zp, y))
SPARSERT_DISPATCH(void, quantize_s8_array,
                  (const float* __restrict x, int64_t n, float scale, float zp, int8_t* __restrict y),
                  (x, n, scale, zp, y))
SPARSERT_DISPATCH(void, dequantize_u8_array,
                  (const uint8_t* __restrict x, int64_t n, float scale, float zp, float* __restrict y),
                  (x, n, scale, zp, y))
SPARSERT_DISPATCH(void, dequantize_s8_array,
                  (const int8_t* __restrict x, int64_t n, float scale, float zp, float* __restrict y),
                  (x, n, scale, zp, y))
SPARSERT_DISPATCH(void, quantize_dequantize_array,
                  (const float* __restrict x, int64_t n, float scale, float zp, float qlo, float qhi,
                   float* __restrict y),
                  (x, n, scale, zp, qlo, qhi, y))
SPARSERT_DISPATCH(void, dequantize_add_qdq_u8,
                  (const uint8_t* __restrict x, int64_t n, float scale, float zp, const float* __restrict side, float k,
                   const QdqStep& q, float* __restrict y),
                  (x, n, scale, zp, side, k, q, y))
SPARSERT_DISPATCH(void, dequantize_add_qdq_s8,
                  (const int8_t* __restrict x, int64_t n, float scale, float zp, const float* __restrict side, float k,
                   const QdqStep& q, float* __restrict y),
                  (x, n, scale, zp, side, k, q, y))
SPARSERT_DISPATCH(void, quantize_dequantize_rows, (float* x, int64_t rows, int64_t n, int64_t ld, const QdqStep& q),
                  (x, rows, n, ld, q))
SPARSERT_DISPATCH(void, binary_step_in_place,
                  (BinaryStep op, float* __restrict x, const float* __restrict o, float k, int64_t n), (op, x, o, k, n))

namespace {
// The byte-table lookups: the AVX-512 build with VBMI where the cap allows it.
bool use_vbmi() {
  static const bool vbmi = jit::may_use(jit::kIsaAvx512Vbmi, jit::default_isa_cap());
  return vbmi;
}
}  // namespace

#define SPARSERT_DISPATCH_VBMI(name, params, args)                              \
  void name params noexcept {                                                   \
    switch (vector_math_build()) {                                              \
      case 2: return use_vbmi() ? avx512::name##_vbmi args : avx512::name args; \
      case 1: return avx2::name args;                                           \
      default: return baseline::name args;                                      \
    }                                                                           \
  }

SPARSERT_DISPATCH_VBMI(quantized_lookup_u8,
                       (const float* __restrict x, int64_t n, const QdqStep& q, const uint8_t* __restrict table,
                        uint8_t* __restrict y),
                       (x, n, q, table, y))
SPARSERT_DISPATCH_VBMI(dequantize_add_lookup_u8,
                       (const uint8_t* __restrict x, int64_t n, float scale, float zp, const float* __restrict side,
                        float k, const QdqStep& q, const uint8_t* __restrict table, uint8_t* __restrict y),
                       (x, n, scale, zp, side, k, q, table, y))
SPARSERT_DISPATCH_VBMI(dequantize_add_lookup_s8,
                       (const int8_t* __restrict x, int64_t n, float scale, float zp, const float* __restrict side,
                        float k, const QdqStep& q, const uint8_t* __restrict table, uint8_t* __restrict y),
                       (x, n, scale, zp, side, k, q, table, y))
SPARSERT_DISPATCH(void, quantized_lookup_f32,
                  (const float* __restrict x, int64_t n, const QdqStep& q, const float* __restrict table,
                   float* __restrict y),
                  (x, n, q, table, y))

#undef SPARSERT_DISPATCH

}  // namespace sparsert::fast
