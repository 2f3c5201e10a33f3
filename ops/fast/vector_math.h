// Element-wise float array kernels (exp, erf, sigmoid, GELU, ...) built on the
// scalar branch-free base/fast_math.h functions, which GCC auto-vectorizes at
// the baseline x86-64 ISA. The exact twins are the reference kernels (std::exp,
// std::erf); tests/ops/fast_activations_test.cc compares them.
#pragma once

#include <cstdint>

#include "base/fast_math.h"

namespace sparsert::fast {

// Array forms: plain noexcept loops over restrict pointers, kept out of any
// exception region so the compiler vectorizes them (a loop inside a lambda that
// builds Status objects does not vectorize: "statement can throw").
void exp_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept;
void erf_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept;
void sigmoid_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept;
void gelu_erf_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept;
void relu_array(const float* __restrict x, float* __restrict y, int64_t n) noexcept;
void clip_array(const float* __restrict x, float* __restrict y, int64_t n, float lo, float hi) noexcept;
// ONNX Runtime's requantization of int32 accumulators to uint8, bit-identical
// to requantize<uint8_t> (ops/quant_util.h): round-half-even(float(acc) * mult)
// + zero_point, saturated. _rows: row-major [rows, cols] with one multiplier
// per column.
void requantize_u8_array(const int32_t* __restrict acc, int64_t n, float mult, int32_t zero_point,
                         uint8_t* __restrict y) noexcept;
void requantize_u8_rows(const int32_t* __restrict acc, int64_t rows, int64_t cols, const float* __restrict col_mult,
                        int32_t zero_point, uint8_t* __restrict y) noexcept;
// y = exp(x - shift); returns the sum of y (for softmax rows).
float exp_shifted_sum(const float* __restrict x, float shift, float* __restrict y, int64_t n) noexcept;

}  // namespace sparsert::fast
