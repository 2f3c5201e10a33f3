// Element-wise float array kernels (exp, erf, sigmoid, GELU, requantize,
// quantize / dequantize, ...) built on the scalar branch-free base/fast_math.h
// functions, which GCC auto-vectorizes. Built twice (vector_math_loops.inc):
// baseline x86-64, AVX2 and AVX-512, bit-identical to each other; the entry
// points in sparsert::fast take the widest build the process's ISA cap
// (jit::default_isa_cap(), i.e. the CPU limited by SPARSERT_ISA) allows.
// The exact twins are the reference kernels (std::exp, std::erf, the
// quantization ops); tests/ops/fast_activations_test.cc compares them.
#pragma once

#include <cstdint>

#include "base/fast_math.h"

namespace sparsert::fast {

// One per-tensor QuantizeLinear + DequantizeLinear pair on floats:
// (saturate(nearbyint(x / scale) + zero_point, qlo, qhi) - zero_point) * scale.
struct QdqStep {
  float scale = 1.f, zero_point = 0.f, qlo = 0.f, qhi = 255.f;
};

// What attention's scores rows may go through besides scale, mask and
// softmax: the Q/DQ pairs a statically quantized (QDQ) graph puts between the
// steps (null: none there): on the raw scores, after the scale, after the mask
// add, and on the softmax probabilities; and a causal Where after the scale
// (and its pair): value = keep ? value : fill, with keep row r of the rows
// passed at keep + r * keep_row_stride (column stride keep_col_stride, 0 or 1).
struct AttentionRowSteps {
  const QdqStep* scores = nullptr;
  const QdqStep* scaled = nullptr;
  const QdqStep* masked = nullptr;
  const QdqStep* probs = nullptr;
  const uint8_t* keep = nullptr;
  int64_t keep_row_stride = 0, keep_col_stride = 0;
  float fill = 0.f;
};

// The binary ops of element-wise chains (binary_step_in_place).
enum class BinaryStep : uint8_t { kAdd, kSub, kSubRev, kMul, kDiv, kDivRev };

#include "ops/fast/vector_math_decls.inc"

// The build the entry points above run: 0 baseline, 1 AVX2, 2 AVX-512.
int vector_math_build();

namespace baseline {
#include "ops/fast/vector_math_decls.inc"
}  // namespace baseline
namespace avx2 {
#include "ops/fast/vector_math_decls.inc"
}  // namespace avx2
namespace avx512 {
#include "ops/fast/vector_math_decls.inc"
// quantized_lookup_u8 and dequantize_add_lookup_* with AVX512_VBMI's byte
// permutes (the entry points take them where the ISA cap allows kIsaAvx512Vbmi).
void quantized_lookup_u8_vbmi(const float* __restrict x, int64_t n, const QdqStep& q, const uint8_t* __restrict table,
                              uint8_t* __restrict y) noexcept;
void dequantize_add_lookup_u8_vbmi(const uint8_t* __restrict x, int64_t n, float scale, float zp,
                                   const float* __restrict side, float k, const QdqStep& q,
                                   const uint8_t* __restrict table, uint8_t* __restrict y) noexcept;
void dequantize_add_lookup_s8_vbmi(const int8_t* __restrict x, int64_t n, float scale, float zp,
                                   const float* __restrict side, float k, const QdqStep& q,
                                   const uint8_t* __restrict table, uint8_t* __restrict y) noexcept;
}  // namespace avx512

}  // namespace sparsert::fast
