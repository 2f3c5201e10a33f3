// Fast DynamicQuantizeLinear (float -> uint8, per tensor), bit-identical to
// the reference: fast::min_max_with_zero (NaN ignored the same way: `x < lo ? x : lo`),
// then fast::quantize_u8_array (ops/fast/vector_math.h: float division by the
// scale, round half to even, clamp). The reference did ~4 ns per element;
// BERT-base quantizes ~8M per run. The same loops serve QuantizeLinear,
// DequantizeLinear and com.sparsert QuantizeDequantize with a constant
// per-tensor scale and zero point (the Q/DQ of ORT's QDQ models).
#include <algorithm>
#include <cmath>
#include <mutex>
#include <type_traits>
#include <vector>

#include "ops/fast/vector_math.h"
#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

// Element ranges [b, e) of count split evenly over the threads, in parts of at
// least kMinPart values, 32-aligned so the AVX2 loops see whole blocks. (Fixed
// 64 Ki chunks split BERT's 98 Ki-value activations 2:1 over two threads.)
template <typename F>
void for_parts(int64_t count, F&& f) {
  constexpr int64_t kBlock = 32, kMinPart = 1 << 14;
  parallel_for((count + kBlock - 1) / kBlock, kMinPart / kBlock,
               [&](int64_t b0, int64_t b1) { f(b0 * kBlock, std::min(count, b1 * kBlock)); });
}

// ONNX DynamicQuantizeLinear, and com.sparsert's (x, range): the range given
// by x's producer (passes/fuse_dynamic_quantize_range.cc) instead of a pass over x.
StatusOr<KernelFn> dynamic_quantize(const Node& n, const Graph&, const ImplContext&) {
  KernelFn ref = reference_kernel(n);
  const bool given_range = n.domain == kSparsertDomain;
  return KernelFn([ref, given_range](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32) return ref(ctx);
    const int64_t count = x.num_elements();
    const float* px = x.data<float>();
    float mn = 0.f, mx = 0.f;  // min and max are exact in any order: the split does not matter
    if (given_range) {
      const Tensor* range = ctx.input(1);
      if (range == nullptr || range->dtype() != DType::kFloat32 || range->num_elements() != 2) return ref(ctx);
      mn = range->data<float>()[0];
      mx = range->data<float>()[1];
      if (!(mn <= 0.f) || !(mx >= 0.f)) return ref(ctx);  // (the reference names the error)
    } else {
      std::mutex merge;
      for_parts(count, [&](int64_t b, int64_t e) {
        float lo, hi;
        fast::min_max_with_zero(px + b, e - b, &lo, &hi);
        std::lock_guard<std::mutex> lock(merge);
        mn = std::min(mn, lo);
        mx = std::max(mx, hi);
      });
    }
    const float scale = (mx - mn) / 255.f;
    if (scale == 0.f || !std::isfinite(scale)) return ref(ctx);  // all zeros (or inf/NaN): the reference's cases
    const float zp = std::min(std::max(std::nearbyint(0.f - mn / scale), 0.f), 255.f);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kUInt8, x.shape(), OutputInit::kOverwritten));
    uint8_t* py = y->data<uint8_t>();
    for_parts(count, [&](int64_t b, int64_t e) { fast::quantize_u8_array(px + b, e - b, scale, zp, py + b); });
    if (ctx.output_wanted(1)) {
      SPARSERT_ASSIGN_OR_RETURN(Tensor * s, ctx.allocate_output(1, DType::kFloat32, {}));
      s->data<float>()[0] = scale;
    }
    if (ctx.output_wanted(2)) {
      SPARSERT_ASSIGN_OR_RETURN(Tensor * z, ctx.allocate_output(2, DType::kUInt8, {}));
      z->data<uint8_t>()[0] = static_cast<uint8_t>(zp);
    }
    return Status::OK();
  });
}

StatusOr<KernelFn> quantize_linear(const Node& n, const Graph& g, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(PerTensorQuantization p, per_tensor_quantization(n, g));
  if (!(p.scale != 0.f) || !std::isfinite(p.scale)) return Unimplemented("scale ", p.scale, " (the reference's case)");
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref, p](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, p.qtype, x.shape(), OutputInit::kOverwritten));
    const int64_t count = x.num_elements();
    const float* px = x.data<float>();
    for_parts(count, [&](int64_t b, int64_t e) {
      if (p.qtype == DType::kInt8)
        fast::quantize_s8_array(px + b, e - b, p.scale, p.zero_point, y->data<int8_t>() + b);
      else
        fast::quantize_u8_array(px + b, e - b, p.scale, p.zero_point, y->data<uint8_t>() + b);
    });
    return Status::OK();
  });
}

StatusOr<KernelFn> dequantize_linear(const Node& n, const Graph& g, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(PerTensorQuantization p, per_tensor_quantization(n, g));
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref, p](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != p.qtype) return ref(ctx);  // the reference names the mismatch
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
    const int64_t count = x.num_elements();
    float* py = y->data<float>();
    for_parts(count, [&](int64_t b, int64_t e) {
      if (p.qtype == DType::kInt8) fast::dequantize_s8_array(x.data<int8_t>() + b, e - b, p.scale, p.zero_point, py + b);
      else fast::dequantize_u8_array(x.data<uint8_t>() + b, e - b, p.scale, p.zero_point, py + b);
    });
    return Status::OK();
  });
}

StatusOr<KernelFn> quantize_dequantize_impl(const Node& n, const Graph& g, const ImplContext&) {
  SPARSERT_ASSIGN_OR_RETURN(PerTensorQuantization p, per_tensor_quantization(n, g));
  if (!(p.scale != 0.f) || !std::isfinite(p.scale)) return Unimplemented("scale ", p.scale, " (the reference's case)");
  const float qlo = p.lo(), qhi = p.hi();
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref, p, qlo, qhi](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, x.shape(), OutputInit::kOverwritten));
    const int64_t count = x.num_elements();
    const float* px = x.data<float>();
    float* py = y->data<float>();
    for_parts(count, [&](int64_t b, int64_t e) {
      fast::quantize_dequantize_array(px + b, e - b, p.scale, p.zero_point, qlo, qhi, py + b);
    });
    return Status::OK();
  });
}

}  // namespace

void register_fast_quantize_impls(OpRegistry& r) {
  r.add_impl(kSparsertDomain, "QuantizeDequantize", {"fast_quantize_dequantize_f32", quantize_dequantize_impl});
  r.add_impl("", "QuantizeLinear", {"fast_quantize_linear_f32", quantize_linear});
  r.add_impl("", "DequantizeLinear", {"fast_dequantize_linear_f32", dequantize_linear});
  r.add_impl("", "DynamicQuantizeLinear", {"fast_dynamic_quantize_f32", dynamic_quantize});
  r.add_impl(kSparsertDomain, "DynamicQuantizeLinear", {"fast_dynamic_quantize_f32", dynamic_quantize});
}

}  // namespace sparsert
