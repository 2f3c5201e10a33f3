// Pad: constant, reflect, edge and wrap modes; negative pads crop; optional axes (opset 18).
#include <cstring>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

// Source index along one axis for output index `o`, or -1 for the constant fill.
int64_t source_index(int64_t o, int64_t before, int64_t dim, const std::string& mode) {
  int64_t i = o - before;
  if (i >= 0 && i < dim) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : dim - 1;
  if (mode == "wrap") return ((i % dim) + dim) % dim;
  // reflect (mirror without repeating the edge)
  if (dim == 1) return 0;
  const int64_t period = 2 * (dim - 1);
  i = ((i % period) + period) % period;
  return i < dim ? i : period - i;
}

Status pad_kernel(KernelContext& ctx) {
  const Tensor& x = *ctx.input(0);
  const int rank = x.rank();
  SPARSERT_ASSIGN_OR_RETURN(std::string mode, ctx.attrs().get_string("mode", "constant"));
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return InvalidArgument(ctx.node().describe(), ": unknown mode '", mode, "'");
  if (!ctx.input(1)) return InvalidArgument(ctx.node().describe(), ": pads are required");
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> pads_in, tensor_to_int64s(*ctx.input(1), "Pad pads"));
  std::vector<int64_t> axes;
  if (const Tensor* a = ctx.input(3)) {
    SPARSERT_ASSIGN_OR_RETURN(axes, tensor_to_int64s(*a, "Pad axes"));
  } else {
    for (int i = 0; i < rank; ++i) axes.push_back(i);
  }
  if (pads_in.size() != 2 * axes.size())
    return InvalidArgument(ctx.node().describe(), ": pads has ", pads_in.size(), " values, expected ", 2 * axes.size());
  std::vector<int64_t> before(rank, 0), after(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    SPARSERT_ASSIGN_OR_RETURN(int64_t a, normalize_axis(axes[i], rank, ctx.node()));
    before[a] = pads_in[i];
    after[a] = pads_in[i + axes.size()];
  }
  Shape out(rank);
  for (int d = 0; d < rank; ++d) {
    out[d] = x.dim(d) + before[d] + after[d];
    if (out[d] < 0) return InvalidArgument(ctx.node().describe(), ": pads crop axis ", d, " below zero");
    if (mode != "constant" && x.dim(d) == 0 && out[d] > 0)
      return InvalidArgument(ctx.node().describe(), ": cannot ", mode, "-pad an empty axis");
  }
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out));
  const Tensor* cv = ctx.input(2);
  if (cv && (cv->dtype() != x.dtype() || cv->num_elements() > 1))
    return InvalidArgument(ctx.node().describe(), ": constant_value must be a scalar of type ", dtype_name(x.dtype()));
  return dispatch_by_size(x.dtype(), ctx.node(), [&](size_t es) -> Status {
    std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    const char* src = static_cast<const char*>(x.raw_data());
    char* dst = static_cast<char*>(y->raw_data());
    const bool has_fill = cv && cv->num_elements() == 1;
    std::vector<int64_t> idx(rank, 0);
    for (int64_t i = 0, n = y->num_elements(); i < n; ++i) {
      int64_t off = 0;
      bool fill = false;
      for (int d = 0; d < rank && !fill; ++d) {
        int64_t s = source_index(idx[d], before[d], x.dim(d), mode);
        if (s < 0) fill = true;
        else off += s * in_strides[d];
      }
      if (!fill) std::memcpy(dst + i * es, src + off * es, es);
      else if (has_fill) std::memcpy(dst + i * es, cv->raw_data(), es);
      // else: the zero from allocation is the default fill
      for (int d = rank; d-- > 0;) {
        if (++idx[d] < out[d]) break;
        idx[d] = 0;
      }
    }
    return Status::OK();
  });
}

}  // namespace

void register_pad_ops(OpRegistry& r) { r.add({"", "Pad", 2, 4, 1, 1, pad_kernel}); }

}  // namespace sparsert
