// Reductions over a set of axes: ReduceMean ReduceSum ReduceMax ReduceMin
// ReduceProd ReduceSumSquare ReduceL2; plus ArgMax/ArgMin.
#include <cmath>
#include <limits>
#include <set>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

enum class Red { kMean, kSum, kMax, kMin, kProd, kSumSquare, kL2 };

// Axes come from input 1 (the importer moves older opsets' attribute there).
StatusOr<std::vector<bool>> reduced_axes(const KernelContext& ctx, int rank) {
  std::vector<bool> mask(rank, false);
  std::vector<int64_t> axes;
  if (const Tensor* a = ctx.input(1)) { SPARSERT_ASSIGN_OR_RETURN(axes, tensor_to_int64s(*a, "reduce axes")); }
  SPARSERT_ASSIGN_OR_RETURN(int64_t noop_empty, ctx.attrs().get_int("noop_with_empty_axes", 0));
  if (axes.empty()) {
    if (!noop_empty) mask.assign(rank, true);
    return mask;
  }
  for (int64_t ax : axes) {
    SPARSERT_ASSIGN_OR_RETURN(int64_t n, normalize_axis(ax, rank, ctx.node()));
    mask[n] = true;
  }
  return mask;
}

KernelFn reduce_kernel(Red op) {
  return [op](KernelContext& ctx) -> Status {
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32, DType::kInt64, DType::kInt32}));
    const Tensor& x = *ctx.input(0);
    SPARSERT_ASSIGN_OR_RETURN(std::vector<bool> mask, reduced_axes(ctx, x.rank()));
    SPARSERT_ASSIGN_OR_RETURN(int64_t keepdims, ctx.attrs().get_int("keepdims", 1));
    Shape kept = x.shape(), out;
    int64_t count = 1;
    for (int d = 0; d < x.rank(); ++d) {
      if (mask[d]) { count *= x.dim(d); kept[d] = 1; if (keepdims) out.push_back(1); }
      else out.push_back(x.dim(d));
    }
    if (count == 0 && (op == Red::kMax || op == Red::kMin))
      return InvalidArgument(ctx.node().describe(), ": reducing an empty set with ", ctx.node().op_type);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out));
    return dispatch_numeric(x.dtype(), ctx.node(), [&](auto tag) -> Status {
      using T = typename decltype(tag)::type;
      const int64_t n_out = y->num_elements();
      std::vector<double> acc(static_cast<size_t>(n_out),
                              op == Red::kMax ? -INFINITY : op == Red::kMin ? INFINITY : op == Red::kProd ? 1.0 : 0.0);
      std::vector<std::vector<int64_t>> st = {broadcast_strides(kept, x.shape())};
      const T* px = x.data<T>();
      for_each_broadcast(x.shape(), st, [&](int64_t i, const std::vector<int64_t>& off) {
        double v = static_cast<double>(px[i]);
        double& a = acc[off[0]];
        switch (op) {
          case Red::kMean: case Red::kSum: a += v; break;
          case Red::kMax: a = std::fmax(a, v); break;
          case Red::kMin: a = std::fmin(a, v); break;
          case Red::kProd: a *= v; break;
          case Red::kSumSquare: case Red::kL2: a += v * v; break;
        }
      });
      T* py = y->data<T>();
      for (int64_t i = 0; i < n_out; ++i) {
        double a = acc[i];
        if (op == Red::kMean) a /= static_cast<double>(count);
        if (op == Red::kL2) a = std::sqrt(a);
        py[i] = static_cast<T>(a);
      }
      return Status::OK();
    });
  };
}

KernelFn arg_kernel(bool is_max) {
  return [is_max](KernelContext& ctx) -> Status {
    SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32, DType::kInt64, DType::kInt32}));
    const Tensor& x = *ctx.input(0);
    SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", 0));
    SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, x.rank(), ctx.node()));
    SPARSERT_ASSIGN_OR_RETURN(int64_t keepdims, ctx.attrs().get_int("keepdims", 1));
    SPARSERT_ASSIGN_OR_RETURN(int64_t last, ctx.attrs().get_int("select_last_index", 0));
    const int64_t dim = x.dim(static_cast<int>(axis));
    if (dim == 0) return InvalidArgument(ctx.node().describe(), ": axis ", axis, " is empty");
    Shape out;
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < x.rank(); ++d) {
      if (d == axis) { if (keepdims) out.push_back(1); continue; }
      out.push_back(x.dim(static_cast<int>(d)));
      (d < axis ? outer : inner) *= x.dim(static_cast<int>(d));
    }
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kInt64, out));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t best = 0;
        double bv = x.element_as_double(o * dim * inner + i);
        for (int64_t k = 1; k < dim; ++k) {
          double v = x.element_as_double((o * dim + k) * inner + i);
          bool better = is_max ? (v > bv || (last && v == bv)) : (v < bv || (last && v == bv));
          if (better) { bv = v; best = k; }
        }
        y->data<int64_t>()[o * inner + i] = best;
      }
    return Status::OK();
  };
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  const std::pair<const char*, Red> ops[] = {{"ReduceMean", Red::kMean}, {"ReduceSum", Red::kSum},
                                             {"ReduceMax", Red::kMax},   {"ReduceMin", Red::kMin},
                                             {"ReduceProd", Red::kProd}, {"ReduceSumSquare", Red::kSumSquare},
                                             {"ReduceL2", Red::kL2}};
  for (auto [name, op] : ops) r.add({"", name, 1, 2, 1, 1, reduce_kernel(op)});
  r.add({"", "ArgMax", 1, 1, 1, 1, arg_kernel(true)});
  r.add({"", "ArgMin", 1, 1, 1, 1, arg_kernel(false)});
}

}  // namespace sparsert
