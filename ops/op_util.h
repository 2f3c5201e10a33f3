// Helpers shared by reference kernels: numpy broadcasting, axis handling,
// reading shape-like tensors, dtype dispatch.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "graph/tensor.h"
#include "ops/registry.h"

namespace sparsert {

// The constant tensor feeding input i of `node`, or nullptr when that input is
// absent or computed at run time.
const Tensor* constant_input(const Node& node, const Graph& graph, size_t i);
// The value of a constant one-element `dtype` tensor at input i, or an
// Unimplemented naming `what` (for implementations that need it constant).
StatusOr<double> constant_scalar_input(const Node& node, const Graph& graph, size_t i, DType dtype, const char* what);

// Numpy/ONNX multidirectional broadcast of shapes; error names both shapes.
StatusOr<Shape> broadcast_shapes(const Shape& a, const Shape& b);
// Element strides of `in` laid against `out` (0 where `in` is broadcast).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);
std::vector<int64_t> contiguous_strides(const Shape& shape);

// A shape viewed as [outer, dim, inner] around `axis` (already normalized):
// what every one-axis kernel (Gather, Concat, Split, TopK, CumSum) walks.
struct AxisView {
  int64_t outer = 1, dim = 1, inner = 1;
};
inline AxisView axis_view(const Shape& s, int64_t axis) {
  AxisView v;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (d < axis) v.outer *= s[static_cast<size_t>(d)];
    else if (d == axis) v.dim = s[static_cast<size_t>(d)];
    else v.inner *= s[static_cast<size_t>(d)];
  }
  return v;
}

// Maps a possibly negative axis into [0, rank); error when out of range.
StatusOr<int64_t> normalize_axis(int64_t axis, int64_t rank, const Node& node);
// Reads a 0-d/1-d integer tensor (int32/int64) into a vector.
StatusOr<std::vector<int64_t>> tensor_to_int64s(const Tensor& t, const char* what);

// Iterates a multi-index over `shape`; calls f(out_index, in_offsets...) via a
// callback with the linear index of each broadcast input.
template <typename F>
void for_each_broadcast(const Shape& out, const std::vector<std::vector<int64_t>>& strides, F&& f) {
  const size_t rank = out.size();
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  if (total == 0) return;
  std::vector<int64_t> idx(rank, 0);
  std::vector<int64_t> off(strides.size(), 0);
  for (int64_t i = 0; i < total; ++i) {
    f(i, off);
    for (size_t d = rank; d-- > 0;) {
      if (++idx[d] < out[d]) {
        for (size_t k = 0; k < strides.size(); ++k) off[k] += strides[k][d];
        break;
      }
      for (size_t k = 0; k < strides.size(); ++k) off[k] -= strides[k][d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

template <typename T> struct TypeTag { using type = T; };

// Calls f(TypeTag<T>{}) for the C++ type of a numeric dtype (not 16-bit floats or 4-bit).
template <typename F>
Status dispatch_numeric(DType dt, const Node& node, F&& f) {
  switch (dt) {
    case DType::kFloat32: return f(TypeTag<float>{});
    case DType::kFloat64: return f(TypeTag<double>{});
    case DType::kInt64: return f(TypeTag<int64_t>{});
    case DType::kInt32: return f(TypeTag<int32_t>{});
    case DType::kInt16: return f(TypeTag<int16_t>{});
    case DType::kInt8: return f(TypeTag<int8_t>{});
    case DType::kUInt8: return f(TypeTag<uint8_t>{});
    case DType::kUInt16: return f(TypeTag<uint16_t>{});
    case DType::kUInt32: return f(TypeTag<uint32_t>{});
    case DType::kUInt64: return f(TypeTag<uint64_t>{});
    case DType::kBool: return f(TypeTag<bool>{});
    default: return Unimplemented(node.describe(), ": element type ", dtype_name(dt), " is not supported");
  }
}

// MatMul's numpy semantics: 1-D operands are promoted to matrices (and that dim
// dropped from the output), batch dims broadcast.
struct MatmulShapes {
  int64_t M = 0, K = 0, N = 0;
  Shape batch_a, batch_b, batch;  // batch dims of A, B, and their broadcast
  Shape out;
  // Calls f(batch index, A matrix index, B matrix index) for every output matrix.
  void for_each_batch(const std::function<void(int64_t, int64_t, int64_t)>& f) const;
};
StatusOr<MatmulShapes> matmul_shapes(const Node& node, const Tensor& a, const Tensor& b);

// Runs f(begin, end) over chunks of [0, n) of at least `grain` items on the
// session's threads (OpenMP; the executor sets the count from
// SessionOptions::threads for each run); serial when n <= grain.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f);
// How many threads parallel_for may use now (for kernels that size their work
// items to the thread count).
int parallel_threads();

// Any type, by element size: for ops that only move data (Transpose, Gather, Concat...).
Status dispatch_by_size(DType dt, const Node& node, const std::function<Status(size_t elem_bytes)>& f);

// Requires input i present with dtype in `allowed`.
Status expect_input(const KernelContext& ctx, int i, std::initializer_list<DType> allowed);

}  // namespace sparsert
