// Fast f32 MaxPool (float, parallel over planes, unchecked interior windows),
// Transpose for permutations that bring the last axis to the
// second-to-last place (attention's K^T) through 8x8 register transposes, and LayerNormalization over the
// last axis in float with loops GCC vectorizes. Registered ahead of the
// reference kernels; other permutations, axes and dtypes run the reference.
#include <cmath>
#include <cstring>
#include <optional>
#include <type_traits>

#include "jit/isa.h"
#include "jit/spmm/spmm_transpose.h"
#include "ops/conv_window.h"
#include "ops/fast/vector_math.h"
#include "ops/linear.h"
#include "ops/nchwc.h"
#include "ops/op_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

// x's shape permuted by `perm` (a permutation of x's axes), or nullopt when
// perm is not one.
std::optional<Shape> permuted_shape(const Tensor& x, const std::vector<int64_t>& perm) {
  const int64_t rank = static_cast<int64_t>(perm.size());
  if (x.rank() != rank) return std::nullopt;
  std::vector<bool> seen(static_cast<size_t>(rank), false);
  Shape out(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; ++i) {
    const int64_t p = perm[static_cast<size_t>(i)];
    if (p < 0 || p >= rank || seen[static_cast<size_t>(p)]) return std::nullopt;
    seen[static_cast<size_t>(p)] = true;
    out[static_cast<size_t>(i)] = x.dim(static_cast<int>(p));
  }
  return out;
}

// Permutations whose output's second-to-last axis is the input's last axis
// (swap of the last two axes; attention's K^T as PyTorch exports it, perm
// [0,2,3,1]): every output matrix [.., D, S] is a 2-D transpose of an input
// matrix whose rows are `rows_stride` apart.
StatusOr<KernelFn> transpose_to_last_two(const Node& n, const Graph&, const ImplContext& ictx) {
  auto perm_or = n.attrs.get_ints("perm", {});
  if (!perm_or.ok() || perm_or->size() < 2) return Unimplemented("needs an explicit perm of rank >= 2");
  const std::vector<int64_t> perm = *perm_or;
  const int64_t rank = static_cast<int64_t>(perm.size());
  if (perm[rank - 2] != rank - 1 || perm[rank - 1] == rank - 1)
    return Unimplemented("perm does not move the last axis to second-to-last");
  const uint32_t isa = ictx.isa_cap;
  KernelFn ref = reference_kernel(n);
  return KernelFn([isa, ref, perm, rank](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() != rank) return ref(ctx);
    const std::optional<Shape> permuted = permuted_shape(x, perm);
    if (!permuted) return ref(ctx);  // it names the bad perm
    const Shape& out = *permuted;
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out, OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    const int64_t cols = x.dim(static_cast<int>(rank - 1));           // input's last axis
    const int64_t rows = x.dim(static_cast<int>(perm[rank - 1]));     // becomes the output's last
    const int64_t rows_stride = in_strides[static_cast<size_t>(perm[rank - 1])];
    const int64_t matrices = y->num_elements() / (rows * cols);
    const float* src = x.data<float>();
    float* dst = y->data<float>();
    parallel_for(matrices, 1, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) {
        int64_t rest = m, offset = 0;  // the input offset of output matrix m (outer axes, last varies fastest)
        for (int64_t i = rank - 3; i >= 0; --i) {
          offset += (rest % out[i]) * in_strides[static_cast<size_t>(perm[i])];
          rest /= out[i];
        }
        jit::transpose32(src + offset, rows_stride, rows, cols, dst + m * rows * cols, rows, isa);
      }
    });
    return Status::OK();
  });
}

// Permutations that keep the last axis in place (attention's head split and
// merge, perm [0,2,1,3]): each output row is a contiguous input row; copied
// with memcpy, walking the outer axes with an odometer. Any element type.
StatusOr<KernelFn> transpose_keeping_last(const Node& n, const Graph&, const ImplContext&) {
  auto perm_or = n.attrs.get_ints("perm", {});
  if (!perm_or.ok() || perm_or->size() < 2) return Unimplemented("needs an explicit perm of rank >= 2");
  const std::vector<int64_t> perm = *perm_or;
  const int64_t rank = static_cast<int64_t>(perm.size());
  if (perm[rank - 1] != rank - 1) return Unimplemented("perm moves the last axis");
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref, perm, rank](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.rank() != rank || x.num_elements() == 0) return ref(ctx);
    const std::optional<Shape> permuted = permuted_shape(x, perm);
    if (!permuted) return ref(ctx);  // it names the bad perm
    const Shape& out = *permuted;
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, x.dtype(), out, OutputInit::kOverwritten));
    const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
    const size_t elem = x.byte_size() / static_cast<size_t>(x.num_elements());
    const int64_t cols = out[static_cast<size_t>(rank - 1)];
    const size_t row_bytes = static_cast<size_t>(cols) * elem;
    const int64_t rows = y->num_elements() / cols;
    const uint8_t* src = static_cast<const uint8_t*>(x.raw_data());
    uint8_t* dst = static_cast<uint8_t*>(y->raw_data());
    parallel_for(rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t r0, int64_t r1) {
      std::vector<int64_t> idx(static_cast<size_t>(rank - 1), 0);  // output index of row r0 (outer axes)
      int64_t rest = r0, offset = 0;
      for (int64_t i = rank - 2; i >= 0; --i) {
        idx[static_cast<size_t>(i)] = rest % out[i];
        rest /= out[i];
        offset += idx[static_cast<size_t>(i)] * in_strides[static_cast<size_t>(perm[i])];
      }
      for (int64_t r = r0; r < r1; ++r) {
        std::memcpy(dst + static_cast<size_t>(r) * row_bytes, src + static_cast<size_t>(offset) * elem, row_bytes);
        for (int64_t i = rank - 2; i >= 0; --i) {  // odometer step, input offset kept in step
          const int64_t stride = in_strides[static_cast<size_t>(perm[i])];
          if (++idx[static_cast<size_t>(i)] < out[i]) {
            offset += stride;
            break;
          }
          idx[static_cast<size_t>(i)] = 0;
          offset -= (out[i] - 1) * stride;
        }
      }
    });
    return Status::OK();
  });
}

// Rows on fast::layer_norm_rows: float two-pass mean/variance summed in 16
// lanes (vectorized, and nearer the exact sums than an in-order float sum),
// then the affine map.
StatusOr<KernelFn> layer_norm_last_axis(const Node& n, const Graph& g, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, n.attrs.get_int("axis", -1));
  SPARSERT_ASSIGN_OR_RETURN(float eps, n.attrs.get_float("epsilon", 1e-5f));
  if (n.outputs.size() > 1) return Unimplemented("mean / inv_std_dev outputs are wanted");
  if (n.inputs.size() < 3 || n.inputs[2] == kNoValue) return Unimplemented("no bias input");
  KernelFn ref = reference_kernel(n);
  return KernelFn([axis, eps, ref](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    const Tensor& scale = *ctx.input(1);
    const Tensor& bias = *ctx.input(2);
    if (x.dtype() != DType::kFloat32 || scale.dtype() != DType::kFloat32 || bias.dtype() != DType::kFloat32 ||
        x.rank() < 1 || (axis != -1 && axis != x.rank() - 1))
      return ref(ctx);
    const int64_t w = x.shape().back();
    if (w == 0 || scale.num_elements() != w || bias.num_elements() != w) return ref(ctx);  // it names the problem
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
    const float* px = x.data<float>();
    float* py = y->data<float>();
    parallel_for(x.num_elements() / w, std::max<int64_t>(1, 8192 / w), [&](int64_t r0, int64_t r1) {
      fast::layer_norm_rows(px + r0 * w, scale.data<float>(), bias.data<float>(), py + r0 * w, r1 - r0, w, eps);
    });
    return Status::OK();
  });
}

// MaxPool on float planes, spread over N*C planes, one output row at a time
// in two passes: the max of the window's input rows, column by column (a
// vectorized loop over whole rows), then each output's taps along that row.
// `v > acc ? v : acc` from acc = -inf equals the reference's std::fmax (a NaN
// v is never taken; acc is never NaN) and vectorizes to maxps. (One scalar
// loop over each window: ResNet-50's 112x112x64 pool took 0.68 ms.)
// MaxPool's first pass for output row oy: cm[i] = the max over the window's
// input rows (those inside the input) of element i of each row, rows of
// `row` floats (iw pixels, or iw pixels x a channel block's lanes).
void window_rows_max(const float* __restrict in, const Window& w, int64_t oy, int64_t row,
                     float* __restrict cm) noexcept {
  for (int64_t i = 0; i < row; ++i) cm[i] = -INFINITY;
  for (int64_t ky = 0; ky < w.kh; ++ky) {
    const int64_t iy = oy * w.sh - w.pt + ky * w.dh;
    if (iy < 0 || iy >= w.ih) continue;
    const float* __restrict v = in + iy * row;
    for (int64_t i = 0; i < row; ++i) cm[i] = v[i] > cm[i] ? v[i] : cm[i];
  }
}

StatusOr<KernelFn> max_pool_f32(const Node& n, const Graph&, const ImplContext&) {
  if (n.outputs.size() > 1) return Unimplemented("the Indices output is wanted");
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, n.attrs.get_ints("kernel_shape"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t ceil_mode, n.attrs.get_int("ceil_mode", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t storage_order, n.attrs.get_int("storage_order", 0));
  if (storage_order != 0) return Unimplemented("storage_order=1");
  KernelFn ref = reference_kernel(n);
  return KernelFn([kernel, ceil_mode, ref](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32 || x.rank() < 3 || x.rank() > 4) return ref(ctx);
    auto win = make_window(ctx.node(), x.shape(), kernel, ceil_mode != 0);
    if (!win.ok()) return ref(ctx);  // it names the problem
    const Window w = *win;
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, window_output_shape(x.shape(), x.dim(1), w),
                                                              OutputInit::kOverwritten));
    const float* px = x.data<float>();
    float* py = y->data<float>();
    parallel_for(x.dim(0) * x.dim(1), 1, [&](int64_t p0, int64_t p1) {
      thread_local std::vector<float> column_max;
      column_max.resize(static_cast<size_t>(w.iw));
      float* __restrict cm = column_max.data();
      for (int64_t p = p0; p < p1; ++p) {
        const float* in = px + p * w.ih * w.iw;
        float* out = py + p * w.oh * w.ow;
        for (int64_t oy = 0; oy < w.oh; ++oy) {
          window_rows_max(in, w, oy, w.iw, cm);
          float* __restrict orow = out + oy * w.ow;
          auto edge = [&](int64_t ox) {  // a window that reaches past the row
            const int64_t x0 = ox * w.sw - w.pl;
            float acc = -INFINITY;
            for (int64_t kx = 0; kx < w.kw; ++kx) {
              const int64_t ix = x0 + kx * w.dw;
              if (ix >= 0 && ix < w.iw && cm[ix] > acc) acc = cm[ix];
            }
            orow[ox] = acc;
          };
          int64_t ox = 0;
          for (; ox < w.ow && ox * w.sw - w.pl < 0; ++ox) edge(ox);
          int64_t inner_end = ox;
          while (inner_end < w.ow && inner_end * w.sw - w.pl + (w.kw - 1) * w.dw < w.iw) ++inner_end;
          // Windows inside the row: strides 1 and 2 as constants, so GCC vectorizes them.
          auto inner = [&](auto stride) {
            const float* __restrict c0 = cm - w.pl;
            for (int64_t o = ox; o < inner_end; ++o) {
              float acc = c0[o * stride];
              for (int64_t kx = 1; kx < w.kw; ++kx) {
                const float v = c0[o * stride + kx * w.dw];
                acc = v > acc ? v : acc;
              }
              orow[o] = acc;
            }
          };
          if (w.sw == 1) inner(std::integral_constant<int64_t, 1>{});
          else if (w.sw == 2) inner(std::integral_constant<int64_t, 2>{});
          else inner(w.sw);
          for (ox = inner_end; ox < w.ow; ++ox) edge(ox);
        }
      }
    });
    return Status::OK();
  });
}

// One output row of a blocked max pool, in MaxPool's two passes: the lanes'
// max over the window's input rows for every input pixel of the row (one
// plain loop over iw x B floats), then each output pixel's taps along it.
// `v > acc ? v : acc` from -inf as above. (One pass over each window's taps
// took 444 us for ResNet's stem pool.)
template <int B>
void nchwc_max_pool_row(const float* __restrict in, const Window& w, int64_t oy, float* __restrict column_max,
                        float* __restrict out) {
  window_rows_max(in, w, oy, w.iw * B, column_max);
  for (int64_t ox = 0; ox < w.ow; ++ox) {
    float acc[B];
    for (int l = 0; l < B; ++l) acc[l] = -INFINITY;
    for (int64_t kx = 0; kx < w.kw; ++kx) {
      const int64_t ix = ox * w.sw - w.pl + kx * w.dw;
      if (ix < 0 || ix >= w.iw) continue;
      const float* __restrict v = column_max + ix * B;
      for (int l = 0; l < B; ++l) acc[l] = v[l] > acc[l] ? v[l] : acc[l];
    }
    for (int l = 0; l < B; ++l) out[ox * B + l] = acc[l];
  }
}

// com.sparsert NchwcMaxPool (blocks of 8 or 16; others on the reference):
// ResNet's stem pool inside the blocked region instead of a reorder out, the
// plain pool and a reorder back in.
StatusOr<KernelFn> nchwc_max_pool_f32(const Node& n, const Graph&, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t block, n.attrs.get_int("block"));
  if (block != 8 && block != 16) return Unimplemented("block ", block, " (8 or 16 only)");
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref, block](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32) return ref(ctx);
    auto win = nchwc_max_pool_window(ctx.node(), x.shape());
    if (!win.ok()) return ref(ctx);  // it names the problem
    const Window w = *win;
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, {x.dim(0), x.dim(1), w.oh, w.ow, block},
                                                              OutputInit::kOverwritten));
    const float* px = x.data<float>();
    float* py = y->data<float>();
    parallel_for(x.dim(0) * x.dim(1) * w.oh, std::max<int64_t>(1, 64 / std::max<int64_t>(1, w.ow)),
                 [&](int64_t r0, int64_t r1) {
                   thread_local std::vector<float> column_max;
                   column_max.resize(static_cast<size_t>(w.iw * block));
                   for (int64_t r = r0; r < r1; ++r) {
                     const int64_t plane = r / w.oh, oy = r % w.oh;
                     const float* in = px + plane * w.ih * w.iw * block;
                     float* out = py + r * w.ow * block;
                     if (block == 16) nchwc_max_pool_row<16>(in, w, oy, column_max.data(), out);
                     else nchwc_max_pool_row<8>(in, w, oy, column_max.data(), out);
                   }
                 });
    return Status::OK();
  });
}

}  // namespace

void register_fast_layout_impls(OpRegistry& r) {
  r.add_impl("", "MaxPool", {"fast_max_pool_f32", max_pool_f32});
  r.add_impl(kSparsertDomain, "NchwcMaxPool", {"fast_nchwc_max_pool_f32", nchwc_max_pool_f32});
  r.add_impl("", "Transpose", {"fast_transpose_f32", transpose_to_last_two});
  r.add_impl("", "Transpose", {"fast_transpose_rows", transpose_keeping_last});
  r.add_impl("", "LayerNormalization", {"fast_layer_norm_f32", layer_norm_last_axis});
}

}  // namespace sparsert
