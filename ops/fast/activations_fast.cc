// Vectorizable float implementations of Softmax (last axis), Erf, Sigmoid and
// Gelu, using fast::exp_f32 / fast::erf_f32. Registered ahead of the exact
// reference kernels; anything they do not cover runs the reference.
#include <algorithm>
#include <limits>

#include "ops/fast/vector_math.h"
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

using ArrayFn = void (*)(const float*, float*, int64_t) noexcept;

KernelImpl elementwise_impl(ArrayFn f) {
  return {"fast_f32", [f](const Node& n, const Graph&, const ImplContext&) -> StatusOr<KernelFn> {
            if (n.op_type == "Gelu") {
              auto approx = n.attrs.get_string("approximate", "none");
              if (!approx.ok() || *approx != "none") return Unimplemented("only approximate='none'");
            }
            KernelFn ref = reference_kernel(n);
            return KernelFn([f, ref](KernelContext& ctx) -> Status {
              const Tensor& x = *ctx.input(0);
              if (x.dtype() != DType::kFloat32) return ref(ctx);
              SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
              const float* px = x.data<float>();
              float* py = y->data<float>();
              parallel_for(x.num_elements(), 16384, [&](int64_t b, int64_t e) {
                if (px != py) return f(px + b, py + b, e - b);
                // In place (the memory plan reused x's buffer): the array functions take
                // restrict pointers, so feed them a copy, a cache-sized chunk at a time.
                float chunk[1024];
                for (int64_t i = b; i < e; i += 1024) {
                  const int64_t len = std::min<int64_t>(1024, e - i);
                  std::copy(px + i, px + i + len, chunk);
                  f(chunk, py + i, len);
                }
              });
              return Status::OK();
            });
          }};
}

StatusOr<KernelFn> softmax_last_axis(const Node& n, const Graph&, const ImplContext&) {
  if (n.opset < 13) return Unimplemented("opset < 13 flattens at axis (reference handles it)");
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, n.attrs.get_int("axis", -1));
  KernelFn ref = reference_kernel(n);
  return KernelFn([axis, ref](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() == 0 || (axis != -1 && axis != x.rank() - 1)) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
    const int64_t w = x.shape().back();
    if (w == 0) return Status::OK();
    const int64_t rows = x.num_elements() / w;
    parallel_for(rows, std::max<int64_t>(1, 8192 / w), [&](int64_t r0, int64_t r1) {
      fast::softmax_rows(x.data<float>() + r0 * w, y->data<float>() + r0 * w, r1 - r0, w);
    });
    return Status::OK();
  });
}

// Clip on floats with constant (or absent) bounds. NaN handling differs from
// the reference's comparisons only for NaN inputs, which both pass through
// std::max/min as the reference's ternaries do (x < lo is false for NaN).
StatusOr<KernelFn> clip_f32(const Node& n, const Graph& g, const ImplContext&) {
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
    if (n.inputs[i] == kNoValue) continue;
    const Tensor* bound = constant_input(n, g, i);
    if (!bound) return Unimplemented(i == 1 ? "min" : "max", " is not a constant");
    if (bound->dtype() != DType::kFloat32 || bound->num_elements() != 1)
      return Unimplemented(i == 1 ? "min" : "max", " is ", bound->type_string(), ", not a float scalar");
    (i == 1 ? lo : hi) = bound->data<float>()[0];
  }
  KernelFn ref = reference_kernel(n);
  return KernelFn([lo, hi, ref](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
    const float* px = x.data<float>();
    float* py = y->data<float>();
    parallel_for(x.num_elements(), 16384, [&](int64_t b, int64_t e) {
      if (px != py) return fast::clip_array(px + b, py + b, e - b, lo, hi);
      for (int64_t i = b; i < e; ++i) py[i] = std::min(std::max(px[i], lo), hi);  // in place (no restrict)
    });
    return Status::OK();
  });
}

// Where(cond, X, Y) on floats where X has the output's shape, Y is a scalar or
// has it too, and cond repeats along the leading axes (its dims, leading 1s
// dropped, are the output's trailing ones): a causal attention mask [S, S]
// over scores [B, H, S, S]. Element i takes cond[i % period]. Anything else
// (other broadcasts) goes to the reference kernel.
StatusOr<KernelFn> where_f32(const Node& n, const Graph&, const ImplContext&) {
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref](KernelContext& ctx) -> Status {
    const Tensor &c = *ctx.input(0), &x = *ctx.input(1), &yv = *ctx.input(2);
    if (c.dtype() != DType::kBool || x.dtype() != DType::kFloat32 || yv.dtype() != DType::kFloat32) return ref(ctx);
    const bool y_scalar = yv.num_elements() == 1;
    if (!y_scalar && yv.shape() != x.shape()) return ref(ctx);
    size_t lead = 0;  // cond's leading 1s
    while (lead < c.shape().size() && c.shape()[lead] == 1) ++lead;
    const size_t trailing = c.shape().size() - lead;
    if (trailing > x.shape().size()) return ref(ctx);
    for (size_t i = 0; i < trailing; ++i)
      if (c.shape()[lead + i] != x.shape()[x.shape().size() - trailing + i]) return ref(ctx);
    if (c.shape().size() > x.shape().size()) return ref(ctx);  // cond would add axes: the reference names the shape
    SPARSERT_ASSIGN_OR_RETURN(Tensor * out, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
    const int64_t total = x.num_elements(), period = std::max<int64_t>(c.num_elements(), 1);
    if (total == 0) return Status::OK();
    const bool* cond = c.data<bool>();
    const float* px = x.data<float>();
    const float* py = yv.data<float>();
    float* po = out->data<float>();
    parallel_for(total / period, std::max<int64_t>(1, 16384 / period), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const float* xb = px + b * period;
        float* ob = po + b * period;
        if (y_scalar) {
          const float y = py[0];
          for (int64_t j = 0; j < period; ++j) ob[j] = cond[j] ? xb[j] : y;
        } else {
          const float* yb = py + b * period;
          for (int64_t j = 0; j < period; ++j) ob[j] = cond[j] ? xb[j] : yb[j];
        }
      }
    });
    return Status::OK();
  });
}

}  // namespace

void register_fast_impls(OpRegistry& r) {
  r.add_impl("", "Where", {"fast_where_f32", where_f32});
  r.add_impl("", "Softmax", {"fast_softmax_f32", softmax_last_axis});
  r.add_impl("", "Erf", elementwise_impl(fast::erf_array));
  r.add_impl("", "Relu", elementwise_impl(fast::relu_array));
  r.add_impl("", "Clip", {"fast_clip_f32", clip_f32});
  r.add_impl("", "Sigmoid", elementwise_impl(fast::sigmoid_array));
  r.add_impl("", "Gelu", elementwise_impl(fast::gelu_erf_array));
  r.add_impl("com.microsoft", "Gelu", elementwise_impl(fast::gelu_erf_array));
}

}  // namespace sparsert
