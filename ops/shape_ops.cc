// Ops that move or describe data without arithmetic: Shape Reshape Flatten
// Squeeze Unsqueeze Transpose Concat Expand ConstantOfShape Range Split Tile.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

Status shape_kernel(KernelContext& ctx) {
  const Shape& s = ctx.input(0)->shape();
  const int64_t rank = static_cast<int64_t>(s.size());
  SPARSERT_ASSIGN_OR_RETURN(int64_t start, ctx.attrs().get_int("start", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t end, ctx.attrs().get_int("end", rank));
  auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  start = clamp(start);
  end = clamp(end);
  int64_t n = std::max<int64_t>(0, end - start);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kInt64, {n}, OutputInit::kOverwritten));
  for (int64_t i = 0; i < n; ++i) out->data<int64_t>()[i] = s[start + i];
  return Status::OK();
}

Status reshape_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> want, tensor_to_int64s(*ctx.input(1), "Reshape shape"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t allowzero, ctx.attrs().get_int("allowzero", 0));
  Shape out(want.size());
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < want.size(); ++i) {
    int64_t d = want[i];
    if (d == 0 && !allowzero) {
      if (i >= x.shape().size())
        return InvalidArgument(ctx.node().describe(), ": shape ", shape_to_string(want), " copies dim ", i,
                               " but the input ", x.type_string(), " has rank ", x.rank());
      d = x.dim(static_cast<int>(i));
    }
    if (d == -1) {
      if (infer >= 0) return InvalidArgument(ctx.node().describe(), ": shape ", shape_to_string(want), " has two -1");
      infer = static_cast<int>(i);
      continue;
    }
    if (d < 0) return InvalidArgument(ctx.node().describe(), ": invalid dim ", d, " in shape ", shape_to_string(want));
    out[i] = d;
    known *= d;
  }
  if (infer >= 0) {
    if (known == 0 || x.num_elements() % known != 0)
      return InvalidArgument(ctx.node().describe(), ": cannot reshape ", x.type_string(), " to ",
                             shape_to_string(want));
    out[infer] = x.num_elements() / known;
  }
  auto r = x.reshaped(out);
  if (!r.ok()) return r.status().with_context(ctx.node().describe());
  return ctx.set_output(0, std::move(r).value());
}

Status flatten_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, ctx.attrs().get_int("axis", 1));
  if (axis < 0) axis += x.rank();
  if (axis < 0 || axis > x.rank())
    return InvalidArgument(ctx.node().describe(), ": axis out of range for ", x.type_string());
  int64_t outer = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(static_cast<int>(i));
  int64_t inner = outer == 0 ? 0 : x.num_elements() / std::max<int64_t>(outer, 1);
  if (outer == 0) { inner = 1; for (int64_t i = axis; i < x.rank(); ++i) inner *= x.dim(static_cast<int>(i)); }
  SPARSERT_ASSIGN_OR_RETURN(Tensor r, x.reshaped({outer, inner}));
  return ctx.set_output(0, std::move(r));
}

Status squeeze_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  std::set<int64_t> axes;
  if (const Tensor* a = ctx.input(1)) {
    SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> v, tensor_to_int64s(*a, "Squeeze axes"));
    for (int64_t ax : v) {
      SPARSERT_ASSIGN_OR_RETURN(int64_t n, normalize_axis(ax, x.rank(), ctx.node()));
      if (x.dim(static_cast<int>(n)) != 1)
        return InvalidArgument(ctx.node().describe(), ": cannot squeeze axis ", ax, " of ", x.type_string(),
                               " (size is not 1)");
      axes.insert(n);
    }
  } else {
    for (int i = 0; i < x.rank(); ++i)
      if (x.dim(i) == 1) axes.insert(i);
  }
  Shape out;
  for (int i = 0; i < x.rank(); ++i)
    if (!axes.count(i)) out.push_back(x.dim(i));
  SPARSERT_ASSIGN_OR_RETURN(Tensor r, x.reshaped(out));
  return ctx.set_output(0, std::move(r));
}

Status unsqueeze_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  if (!ctx.input(1)) return InvalidArgument(ctx.node().describe(), ": axes are required");
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> v, tensor_to_int64s(*ctx.input(1), "Unsqueeze axes"));
  const int64_t out_rank = x.rank() + static_cast<int64_t>(v.size());
  std::set<int64_t> axes;
  for (int64_t ax : v) {
    SPARSERT_ASSIGN_OR_RETURN(int64_t n, normalize_axis(ax, out_rank, ctx.node()));
    if (!axes.insert(n).second) return InvalidArgument(ctx.node().describe(), ": axis ", ax, " repeated");
  }
  Shape out;
  int src = 0;
  for (int64_t i = 0; i < out_rank; ++i) out.push_back(axes.count(i) ? 1 : x.dim(src++));
  SPARSERT_ASSIGN_OR_RETURN(Tensor r, x.reshaped(out));
  return ctx.set_output(0, std::move(r));
}

Status transpose_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const int rank = x.rank();
  std::vector<int64_t> perm(rank);
  for (int i = 0; i < rank; ++i) perm[i] = rank - 1 - i;
  SPARSERT_ASSIGN_OR_RETURN(perm, ctx.attrs().get_ints("perm", perm));
  std::vector<bool> seen(rank, false);
  if (static_cast<int>(perm.size()) != rank)
    return InvalidArgument(ctx.node().describe(), ": perm ", shape_to_string(perm), " does not match rank ", rank);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return InvalidArgument(ctx.node().describe(), ": perm ", shape_to_string(perm), " is not a permutation");
    seen[p] = true;
  }
  Shape out(rank);
  for (int i = 0; i < rank; ++i) out[i] = x.dim(static_cast<int>(perm[i]));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out, OutputInit::kOverwritten));
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    std::vector<std::vector<int64_t>> st(1, std::vector<int64_t>(rank));
    for (int i = 0; i < rank; ++i) st[0][i] = in_strides[perm[i]];
    const char* src = static_cast<const char*>(x.raw_data());
    char* dst = static_cast<char*>(y->raw_data());
    if (rank == 0) { std::memcpy(dst, src, es); return Status::OK(); }
    if (rank >= 2 && perm[rank - 1] == rank - 1) {
      // The last axis stays last (BERT's head split/merge): copy whole rows.
      const size_t row = static_cast<size_t>(out[rank - 1]) * es;
      Shape rows(out.begin(), out.end() - 1);
      std::vector<std::vector<int64_t>> rst(1, std::vector<int64_t>(st[0].begin(), st[0].end() - 1));
      if (row) for_each_broadcast(rows, rst, [&](int64_t i, const std::vector<int64_t>& off) {
        std::memcpy(dst + i * row, src + off[0] * es, row);
      });  // memory-bound; a parallel split gains little at BERT sizes
      return Status::OK();
    }
    for_each_broadcast(out, st, [&](int64_t i, const std::vector<int64_t>& off) {
      std::memcpy(dst + i * es, src + off[0] * es, es);
    });
    return Status::OK();
  });
}

Status concat_kernel(KernelContext& ctx) {
  const Tensor& first = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, first.rank(), ctx.node()));
  Shape out = first.shape();
  out[axis] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t) return InvalidArgument(ctx.node().describe(), ": input ", i, " is missing");
    if (t->dtype() != first.dtype() || t->rank() != first.rank())
      return InvalidArgument(ctx.node().describe(), ": input ", i, " is ", t->type_string(), ", input 0 is ",
                             first.type_string());
    for (int d = 0; d < first.rank(); ++d)
      if (d != axis && t->dim(d) != first.dim(d))
        return InvalidArgument(ctx.node().describe(), ": input ", i, " is ", t->type_string(),
                               ", incompatible with input 0 ", first.type_string(), " outside axis ", axis);
    out[axis] += t->dim(static_cast<int>(axis));
  }
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, first.dtype(), out, OutputInit::kOverwritten));
  return dispatch_by_size(first.dtype(), ctx.node(), [&](size_t es) -> Status {
    const auto [outer, out_dim, inner] = axis_view(out, axis);
    char* dst = static_cast<char*>(y->raw_data());
    const int64_t out_row = out_dim * inner * static_cast<int64_t>(es);
    int64_t col = 0;
    for (int i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor& t = *ctx.input(i);
      const int64_t row = t.dim(static_cast<int>(axis)) * inner * static_cast<int64_t>(es);
      const char* src = static_cast<const char*>(t.raw_data());
      for (int64_t o = 0; o < outer && row > 0; ++o) std::memcpy(dst + o * out_row + col, src + o * row, row);
      col += row;
    }
    return Status::OK();
  });
}

Status expand_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, tensor_to_int64s(*ctx.input(1), "Expand shape"));
  auto out = broadcast_shapes(x.shape(), shape);
  if (!out.ok()) return out.status().with_context(ctx.node().describe());
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), *out, OutputInit::kOverwritten));
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    std::vector<std::vector<int64_t>> st = {broadcast_strides(x.shape(), *out)};
    const char* src = static_cast<const char*>(x.raw_data());
    char* dst = static_cast<char*>(y->raw_data());
    if (out->empty()) { std::memcpy(dst, src, es); return Status::OK(); }
    for_each_broadcast(*out, st, [&](int64_t i, const std::vector<int64_t>& off) {
      std::memcpy(dst + i * es, src + off[0] * es, es);
    });
    return Status::OK();
  });
}

Status constant_of_shape_kernel(KernelContext& ctx) {
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, tensor_to_int64s(*ctx.input(0), "ConstantOfShape shape"));
  Tensor value = Tensor::scalar<float>(0.f);
  if (ctx.attrs().has("value")) {
    SPARSERT_ASSIGN_OR_RETURN(value, ctx.attrs().get_tensor("value"));
    if (value.num_elements() != 1)
      return InvalidArgument(ctx.node().describe(), ": value must have one element, got ", value.type_string());
  }
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, value.dtype(), shape, OutputInit::kOverwritten));
  return dispatch_by_size(value.dtype(), ctx.node(), [&](size_t es) -> Status {
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t i = 0, n = y->num_elements(); i < n; ++i) std::memcpy(dst + i * es, value.raw_data(), es);
    return Status::OK();
  });
}

Status range_kernel(KernelContext& ctx) {
  const Tensor& start = *ctx.input(0);
  for (int i = 1; i < 3; ++i)
    if (ctx.input(i)->dtype() != start.dtype() || ctx.input(i)->num_elements() != 1)
      return InvalidArgument(ctx.node().describe(), ": start, limit and delta must be scalars of one type");
  if (start.num_elements() != 1) return InvalidArgument(ctx.node().describe(), ": start must be a scalar");
  return dispatch_numeric(start.dtype(), ctx.node(), [&](auto tag) -> Status {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      return Unimplemented(ctx.node().describe(), ": bool Range");
    } else {
      T s = start.data<T>()[0], l = ctx.input(1)->data<T>()[0], d = ctx.input(2)->data<T>()[0];
      if (d == T(0)) return InvalidArgument(ctx.node().describe(), ": delta is zero");
      double count = std::ceil((static_cast<double>(l) - static_cast<double>(s)) / static_cast<double>(d));
      int64_t n = count > 0 ? static_cast<int64_t>(count) : 0;
      SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, start.dtype(), {n}, OutputInit::kOverwritten));
      for (int64_t i = 0; i < n; ++i) y->data<T>()[i] = static_cast<T>(s + static_cast<T>(i) * d);
      return Status::OK();
    }
  });
}

Status split_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, x.rank(), ctx.node()));
  const int64_t dim = x.dim(static_cast<int>(axis));
  const int nout = ctx.num_outputs();
  std::vector<int64_t> sizes;
  if (const Tensor* s = ctx.input(1)) {
    SPARSERT_ASSIGN_OR_RETURN(sizes, tensor_to_int64s(*s, "Split split"));
  } else {
    // Equal parts; opset 18 allows the last to be smaller.
    int64_t part = (dim + nout - 1) / nout;
    for (int i = 0; i < nout; ++i) sizes.push_back(std::max<int64_t>(0, std::min(part, dim - part * i)));
  }
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if (static_cast<int>(sizes.size()) != nout || total != dim)
    return InvalidArgument(ctx.node().describe(), ": split sizes ", shape_to_string(sizes), " do not cover dim ", dim,
                           " with ", nout, " outputs");
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    const auto [outer, in_dim, inner] = axis_view(x.shape(), axis);
    const char* src = static_cast<const char*>(x.raw_data());
    const int64_t in_row = in_dim * inner * static_cast<int64_t>(es);
    int64_t col = 0;
    for (int i = 0; i < nout; ++i) {
      Shape s = x.shape();
      s[axis] = sizes[i];
      SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(i, x.dtype(), s, OutputInit::kOverwritten));
      const int64_t row = sizes[i] * inner * static_cast<int64_t>(es);
      char* dst = static_cast<char*>(y->raw_data());
      for (int64_t o = 0; o < outer && row > 0; ++o) std::memcpy(dst + o * row, src + o * in_row + col, row);
      col += row;
    }
    return Status::OK();
  });
}

Status tile_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> reps, tensor_to_int64s(*ctx.input(1), "Tile repeats"));
  if (static_cast<int>(reps.size()) != x.rank())
    return InvalidArgument(ctx.node().describe(), ": repeats has ", reps.size(), " entries for rank ", x.rank());
  Shape out(x.rank());
  for (int i = 0; i < x.rank(); ++i) {
    if (reps[i] < 0) return InvalidArgument(ctx.node().describe(), ": negative repeat ", reps[i]);
    out[i] = x.dim(i) * reps[i];
  }
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out, OutputInit::kOverwritten));
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    const char* src = static_cast<const char*>(x.raw_data());
    char* dst = static_cast<char*>(y->raw_data());
    const int64_t n = y->num_elements();
    std::vector<int64_t> idx(out.size(), 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t off = 0;
      for (size_t d = 0; d < out.size(); ++d) off += (idx[d] % x.dim(static_cast<int>(d))) * in_strides[d];
      std::memcpy(dst + i * es, src + off * es, es);
      for (size_t d = out.size(); d-- > 0;) {
        if (++idx[d] < out[d]) break;
        idx[d] = 0;
      }
    }
    return Status::OK();
  });
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  r.add({"", "Shape", 1, 1, 1, 1, shape_kernel});
  r.add({"", "Reshape", 2, 2, 1, 1, reshape_kernel});
  r.add({"", "Flatten", 1, 1, 1, 1, flatten_kernel});
  r.add({"", "Squeeze", 1, 2, 1, 1, squeeze_kernel});
  r.add({"", "Unsqueeze", 1, 2, 1, 1, unsqueeze_kernel});
  r.add({"", "Transpose", 1, 1, 1, 1, transpose_kernel});
  r.add({"", "Concat", 1, 1 << 20, 1, 1, concat_kernel});
  r.add({"", "Expand", 2, 2, 1, 1, expand_kernel});
  r.add({"", "ConstantOfShape", 1, 1, 1, 1, constant_of_shape_kernel});
  r.add({"", "Range", 3, 3, 1, 1, range_kernel});
  r.add({"", "Split", 1, 2, 1, 1 << 16, split_kernel});
  r.add({"", "Tile", 2, 2, 1, 1, tile_kernel});
}

}  // namespace sparsert
