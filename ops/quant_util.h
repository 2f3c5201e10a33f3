// Integer helpers shared by the quantized reference kernels.
#pragma once

#include <cmath>
#include <limits>

namespace sparsert {

// Clamps v into Q's range (v already rounded).
template <typename Q>
Q saturate(double v) {
  const double lo = std::numeric_limits<Q>::lowest(), hi = std::numeric_limits<Q>::max();
  return static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
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

}  // namespace sparsert
