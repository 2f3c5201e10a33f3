// Helpers shared by the two shape-rule files (ops/shape_rules*.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ops/shape_rules.h"

namespace sparsert {

class OpRegistry;
void register_tensor_shape_rules(OpRegistry& r);

namespace shape_rules {

bool known(const ValueType& t);
Dim unknown_dim();
// Output dims of a convolution or pooling window over x ([N, C, spatial...]):
// {N, channels, spatial sizes when x's spatial dims are static, else unknown}.
// A malformed window sets `error`.
std::vector<Dim> window_dims(const InferContext& c, const ValueType& x, Dim channels, const std::vector<int64_t>& kernel,
                             bool ceil_mode, Status& error);
// Every output gets input i's type.
ShapeRule same_as_input(int i);
// Broadcast of inputs [first, first+count) (count < 0: all); dtype fixed or input dtype_input's.
ShapeRule broadcast(int first, int count, std::optional<DType> dtype, int dtype_input);

inline bool all_static(const DimValues& v) {
  for (const SymInt& d : v)
    if (!d.known) return false;
  return true;
}
inline std::vector<int64_t> static_values(const DimValues& v) {
  std::vector<int64_t> out;
  for (const SymInt& d : v) out.push_back(d.value);
  return out;
}
inline std::vector<Dim> to_dims(const DimValues& v) {
  std::vector<Dim> out;
  for (const SymInt& d : v) out.push_back(d.to_dim());
  return out;
}

}  // namespace shape_rules
}  // namespace sparsert
