// Indexing ops: Gather, GatherElements and Slice.
#include <algorithm>
#include <cstring>
#include <limits>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

Status gather_kernel(KernelContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kInt64, DType::kInt32}));
  if (data.rank() == 0) return InvalidArgument(ctx.node().describe(), ": data must have rank >= 1");
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, data.rank(), ctx.node()));
  Shape out;
  for (int64_t d = 0; d < axis; ++d) out.push_back(data.dim(static_cast<int>(d)));
  for (int64_t d : indices.shape()) out.push_back(d);
  for (int64_t d = axis + 1; d < data.rank(); ++d) out.push_back(data.dim(static_cast<int>(d)));
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, data.dtype(), out, OutputInit::kOverwritten));
  return dispatch_by_size(data.dtype(), ctx.node(), [&](size_t es) -> Status {
    const auto [outer, dim, inner] = axis_view(data.shape(), axis);
    const int64_t nidx = indices.num_elements();
    const int64_t chunk = inner * static_cast<int64_t>(es);
    const char* src = static_cast<const char*>(data.raw_data());
    char* dst = static_cast<char*>(y->raw_data());
    for (int64_t j = 0; j < nidx; ++j) {
      int64_t ix = indices.element_as_int64(j);
      if (ix < -dim || ix >= dim)
        return OutOfRange(ctx.node().describe(), ": index ", ix, " is out of range for axis ", axis, " of size ", dim);
      if (ix < 0) ix += dim;
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + (o * nidx + j) * chunk, src + (o * dim + ix) * chunk, chunk);
    }
    return Status::OK();
  });
}

Status slice_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const int rank = x.rank();
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> starts, tensor_to_int64s(*ctx.input(1), "Slice starts"));
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> ends, tensor_to_int64s(*ctx.input(2), "Slice ends"));
  std::vector<int64_t> axes, steps;
  if (ctx.input(3)) { SPARSERT_ASSIGN_OR_RETURN(axes, tensor_to_int64s(*ctx.input(3), "Slice axes")); }
  else for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (ctx.input(4)) { SPARSERT_ASSIGN_OR_RETURN(steps, tensor_to_int64s(*ctx.input(4), "Slice steps")); }
  else steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return InvalidArgument(ctx.node().describe(), ": starts, ends, axes and steps must have equal lengths");
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  Shape out = x.shape();
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    SPARSERT_ASSIGN_OR_RETURN(int64_t a, normalize_axis(axes[i], rank, ctx.node()));
    if (seen[a]) return InvalidArgument(ctx.node().describe(), ": axis ", axes[i], " repeated");
    seen[a] = true;
    const int64_t dim = x.dim(static_cast<int>(a));
    const int64_t s = steps[i];
    if (s == 0) return InvalidArgument(ctx.node().describe(), ": step is zero");
    int64_t b = starts[i], e = ends[i];
    // Clamp per the ONNX spec (INT64_MAX/MIN mean "to the end").
    if (b < 0) b = b < -dim ? 0 : b + dim;
    if (e < 0) e = e < -dim ? (s > 0 ? 0 : -1) : e + dim;
    if (s > 0) { b = std::clamp<int64_t>(b, 0, dim); e = std::clamp<int64_t>(e, 0, dim); }
    else { b = std::clamp<int64_t>(b, 0, dim - 1); e = std::clamp<int64_t>(e, -1, dim - 1); }
    int64_t n = s > 0 ? (e - b + s - 1) / s : (b - e + (-s) - 1) / (-s);
    out[a] = std::max<int64_t>(0, n);
    begin[a] = b;
    step[a] = s;
  }
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out, OutputInit::kOverwritten));
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    std::vector<std::vector<int64_t>> st(1, std::vector<int64_t>(rank));
    int64_t base = 0;
    for (int d = 0; d < rank; ++d) {
      st[0][d] = in_strides[d] * step[d];
      base += begin[d] * in_strides[d];
    }
    const char* src = static_cast<const char*>(x.raw_data()) + base * static_cast<int64_t>(es);
    char* dst = static_cast<char*>(y->raw_data());
    if (rank == 0) { std::memcpy(dst, src, es); return Status::OK(); }
    for_each_broadcast(out, st, [&](int64_t i, const std::vector<int64_t>& off) {
      std::memcpy(dst + i * es, src + off[0] * static_cast<int64_t>(es), es);
    });
    return Status::OK();
  });
}


// out[i0..][j]..[in] = data[..][indices[i0..][j]..][..] along `axis`; indices has data's rank.
Status gather_elements_kernel(KernelContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 1, {DType::kInt64, DType::kInt32}));
  if (data.rank() == 0 || indices.rank() != data.rank())
    return InvalidArgument(ctx.node().describe(), ": data ", data.type_string(), " and indices ", indices.type_string(),
                           " must have the same rank >= 1");
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.attrs().get_int("axis", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(axis_attr, data.rank(), ctx.node()));
  for (int d = 0; d < data.rank(); ++d)
    if (d != axis && indices.dim(d) > data.dim(d))
      return InvalidArgument(ctx.node().describe(), ": indices ", indices.type_string(), " exceed data ",
                             data.type_string(), " in dim ", d);
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, data.dtype(), indices.shape(), OutputInit::kOverwritten));
  return dispatch_by_size(data.dtype(), ctx.node(), [&](size_t es) -> Status {
    const std::vector<int64_t> dstr = contiguous_strides(data.shape());
    const int64_t dim = data.dim(static_cast<int>(axis));
    const char* src = static_cast<const char*>(data.raw_data());
    char* dst = static_cast<char*>(y->raw_data());
    Status status;
    // Walk the indices' multi-index; the data offset is the same multi-index with the
    // axis coordinate replaced by the index value.
    std::vector<int64_t> idx(static_cast<size_t>(indices.rank()), 0);
    for (int64_t i = 0, n = indices.num_elements(); i < n && status.ok(); ++i) {
      int64_t ix = indices.element_as_int64(i);
      if (ix < -dim || ix >= dim) {
        status = OutOfRange(ctx.node().describe(), ": index ", ix, " is out of range for axis ", axis, " of size ", dim);
        break;
      }
      if (ix < 0) ix += dim;
      int64_t off = 0;
      for (size_t d = 0; d < idx.size(); ++d) off += (static_cast<int64_t>(d) == axis ? ix : idx[d]) * dstr[d];
      std::memcpy(dst + i * static_cast<int64_t>(es), src + off * static_cast<int64_t>(es), es);
      for (size_t d = idx.size(); d-- > 0;) {
        if (++idx[d] < indices.dim(static_cast<int>(d))) break;
        idx[d] = 0;
      }
    }
    return status;
  });
}

}  // namespace

void register_gather_slice_ops(OpRegistry& r) {
  r.add({"", "Gather", 2, 2, 1, 1, gather_kernel});
  r.add({"", "Slice", 3, 5, 1, 1, slice_kernel});
  r.add({"", "GatherElements", 2, 2, 1, 1, gather_elements_kernel});
}

}  // namespace sparsert
