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
// y = exp(x - shift); returns the sum of y (for softmax rows).
float exp_shifted_sum(const float* __restrict x, float shift, float* __restrict y, int64_t n) noexcept;

}  // namespace sparsert::fast
