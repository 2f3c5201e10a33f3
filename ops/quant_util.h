// Integer helpers shared by the quantized reference kernels.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace sparsert {

// Clamps v into Q's range (v already rounded).
template <typename Q>
Q saturate(double v) {
  const double lo = std::numeric_limits<Q>::lowest(), hi = std::numeric_limits<Q>::max();
  return static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
}

// QuantizeLinear's code of one float, as a float: saturate(nearbyint(v / scale)
// + zero_point) into [lo, hi] (float division, as ONNX Runtime does it; NaN
// stays NaN). The reference twin of the fast kernels' quantize_one.
// DynamicQuantizeLinear's range of x[0, n): {min(0, min x), max(0, max x)},
// NaN never replacing a bound (std::min(lo, x) is `x < lo ? x : lo`).
inline void dynamic_quantize_range_reference(const float* x, int64_t n, float* lo, float* hi) {
  *lo = *hi = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    *lo = std::min(*lo, x[i]);
    *hi = std::max(*hi, x[i]);
  }
}

inline float quantize_code_reference(float v, float scale, float zero_point, float lo, float hi) {
  const double q = std::nearbyint(v / scale) + zero_point;
  return static_cast<float>(std::min(std::max(q, static_cast<double>(lo)), static_cast<double>(hi)));
}

// Whether [lo, hi] is an integer code range an 8-bit type holds (int8 or
// uint8, or narrower): what Q/DQ pairs fused into tables and attention take.
inline bool is_8bit_code_range(float lo, float hi) {
  return lo >= -128.f && hi <= 255.f && lo < hi && hi - lo <= 255.f && std::nearbyint(lo) == lo &&
         std::nearbyint(hi) == hi;
}

// ONNX Runtime's requantization of an int32 accumulator: the combined
// multiplier (in_scale * w_scale / out_scale) is formed in float, the product
// rounded half-to-even, then the zero point added and the result saturated.
inline float requant_multiplier(float in_scale, float w_scale, float out_scale) {
  return in_scale * w_scale / out_scale;
}
template <typename Q>
Q requantize(int32_t acc, float multiplier, double zero_point) {
  return saturate<Q>(std::nearbyint(static_cast<double>(static_cast<float>(acc) * multiplier)) + zero_point);
}

// For implementations of QLinearConv / QLinearMatMul (inputs x, x_scale,
// x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point): when the
// scales are constant floats (w_scale of 1 or `channels` values) and the zero
// points constant uint8 scalars, ORT's multiplier per output channel and the
// zero points; else an Unimplemented naming what is not so.
struct QLinearConstants {
  std::vector<float> mult;  // `channels` values
  int32_t x_zero_point = 0, y_zero_point = 0;
};
StatusOr<QLinearConstants> qlinear_constants(const Node& n, const Graph& g, int64_t channels);
// OK when input i is absent or a constant of zeros (symmetric weights); else
// Unimplemented naming `what` ("B", "w").
Status constant_zero_point_is_zero(const Node& n, const Graph& g, size_t i, const char* what);

// A QuantizeLinear / DequantizeLinear / QuantizeDequantize quantizing per
// tensor: scale (input 1) a constant float scalar, zero point (input 2) a
// constant uint8/int8 scalar or absent (uint8 0).
struct PerTensorQuantization {
  float scale = 1.f, zero_point = 0.f;
  DType qtype = DType::kUInt8;
  bool has_zero_point = false;
  float lo() const { return qtype == DType::kInt8 ? -128.f : 0.f; }
  float hi() const { return qtype == DType::kInt8 ? 127.f : 255.f; }
};
StatusOr<PerTensorQuantization> per_tensor_quantization(const Node& n, const Graph& g);

}  // namespace sparsert
