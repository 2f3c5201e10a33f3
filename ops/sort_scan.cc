// TopK, CumSum and Trilu: ops that walk one axis (or the last two) of a tensor.
#include <algorithm>
#include <numeric>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

StatusOr<int64_t> scalar_int(const KernelContext& ctx, int i, const char* what) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, i, {DType::kInt64, DType::kInt32}));
  if (ctx.input(i)->num_elements() != 1)
    return InvalidArgument(ctx.node().describe(), ": ", what, " must hold one value, got ", ctx.input(i)->type_string());
  return ctx.input(i)->element_as_int64(0);
}

// Values and int64 indices of the k largest (or smallest) along an axis, sorted;
// equal values keep their index order (as ONNX Runtime does).
Status topk_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t k, scalar_int(ctx, 1, "K"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", -1));
  SPARSERT_ASSIGN_OR_RETURN(int64_t largest, ctx.attrs().get_int("largest", 1));
  if (x.rank() == 0) return InvalidArgument(ctx.node().describe(), ": input must have rank >= 1");
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, x.rank(), ctx.node()));
  const AxisView v = axis_view(x.shape(), axis);
  if (k < 0 || k > v.dim)
    return InvalidArgument(ctx.node().describe(), ": K=", k, " is outside [0, ", v.dim, "] for axis ", axis, " of ",
                           x.type_string());
  Shape out = x.shape();
  out[static_cast<size_t>(axis)] = k;
  SPARSERT_ASSIGN_OR_RETURN(Tensor * values, ctx.allocate_output(0, x.dtype(), out));
  Tensor* indices = nullptr;
  if (ctx.output_wanted(1)) { SPARSERT_ASSIGN_OR_RETURN(indices, ctx.allocate_output(1, DType::kInt64, out)); }
  return dispatch_numeric(x.dtype(), ctx.node(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    const T* px = x.data<T>();
    std::vector<int64_t> order(static_cast<size_t>(v.dim));
    for (int64_t o = 0; o < v.outer; ++o)
      for (int64_t in = 0; in < v.inner; ++in) {
        auto at = [&](int64_t i) { return px[(o * v.dim + i) * v.inner + in]; };
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          return largest ? at(a) > at(b) : at(a) < at(b);
        });
        for (int64_t j = 0; j < k; ++j) {
          const int64_t dst = (o * k + j) * v.inner + in;
          values->data<T>()[dst] = at(order[static_cast<size_t>(j)]);
          if (indices) indices->data<int64_t>()[dst] = order[static_cast<size_t>(j)];
        }
      }
    return Status::OK();
  });
}

Status cumsum_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_in, scalar_int(ctx, 1, "axis"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t exclusive, ctx.attrs().get_int("exclusive", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t reverse, ctx.attrs().get_int("reverse", 0));
  if (x.rank() == 0) return InvalidArgument(ctx.node().describe(), ": input must have rank >= 1");
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_in, x.rank(), ctx.node()));
  const AxisView v = axis_view(x.shape(), axis);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape()));
  return dispatch_numeric(x.dtype(), ctx.node(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      return InvalidArgument(ctx.node().describe(), ": CumSum of bool");
    } else {
      for (int64_t o = 0; o < v.outer; ++o)
        for (int64_t in = 0; in < v.inner; ++in) {
          T sum = T(0);
          for (int64_t s = 0; s < v.dim; ++s) {
            const int64_t i = reverse ? v.dim - 1 - s : s;
            const int64_t off = (o * v.dim + i) * v.inner + in;
            const T val = x.data<T>()[off];
            if (!exclusive) sum = static_cast<T>(sum + val);
            y->data<T>()[off] = sum;
            if (exclusive) sum = static_cast<T>(sum + val);
          }
        }
      return Status::OK();
    }
  });
}

// Keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two dims.
Status trilu_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  int64_t k = 0;
  if (ctx.input(1)) { SPARSERT_ASSIGN_OR_RETURN(k, scalar_int(ctx, 1, "k")); }
  SPARSERT_ASSIGN_OR_RETURN(int64_t upper, ctx.attrs().get_int("upper", 1));
  if (x.rank() < 2) return InvalidArgument(ctx.node().describe(), ": input must have rank >= 2, got ", x.type_string());
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), x.shape()));
  const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
  const int64_t mats = rows * cols == 0 ? 0 : x.num_elements() / (rows * cols);
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    const char* src = static_cast<const char*>(x.raw_data());
    char* dst = static_cast<char*>(y->raw_data());
    std::fill(dst, dst + y->byte_size(), char(0));
    for (int64_t mtx = 0; mtx < mats; ++mtx)
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
          if (upper ? j - i < k : j - i > k) continue;
          const int64_t off = ((mtx * rows + i) * cols + j) * static_cast<int64_t>(es);
          std::copy(src + off, src + off + es, dst + off);
        }
    return Status::OK();
  });
}

}  // namespace

void register_sort_scan_ops(OpRegistry& r) {
  r.add({"", "TopK", 2, 2, 1, 2, topk_kernel});
  r.add({"", "CumSum", 2, 2, 1, 1, cumsum_kernel});
  r.add({"", "Trilu", 1, 2, 1, 1, trilu_kernel});
}

}  // namespace sparsert
