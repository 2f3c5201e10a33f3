// Fast DynamicQuantizeLinear (float -> uint8, per tensor), bit-identical to
// the reference: fast::min_max_with_zero (NaN ignored the same way: `x < lo ? x : lo`),
// then fast::quantize_u8_array (ops/fast/vector_math.h: float division by the
// scale, round half to even, clamp). The reference did ~4 ns per element;
// BERT-base quantizes ~8M per run. The same loops serve QuantizeLinear,
// DequantizeLinear and com.sparsert QuantizeDequantize with a constant
// per-tensor scale and zero point (the Q/DQ of ORT's QDQ models).
#include <algorithm>
#include <cmath>
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

constexpr int64_t kChunk = 1 << 16;

StatusOr<KernelFn> dynamic_quantize(const Node& n, const Graph&, const ImplContext&) {
  KernelFn ref = reference_kernel(n);
  return KernelFn([ref](KernelContext& ctx) -> Status {
    const Tensor& x = *ctx.input(0);
    if (x.dtype() != DType::kFloat32) return ref(ctx);
    const int64_t count = x.num_elements();
    const float* px = x.data<float>();
    const int64_t chunks = (count + kChunk - 1) / kChunk;
    std::vector<float> lo(static_cast<size_t>(std::max<int64_t>(chunks, 1)), 0.f), hi(lo.size(), 0.f);
    parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        fast::min_max_with_zero(px + c * kChunk, std::min(kChunk, count - c * kChunk), &lo[static_cast<size_t>(c)], &hi[static_cast<size_t>(c)]);
    });
    const float mn = *std::min_element(lo.begin(), lo.end()), mx = *std::max_element(hi.begin(), hi.end());
    const float scale = (mx - mn) / 255.f;
    if (scale == 0.f || !std::isfinite(scale)) return ref(ctx);  // all zeros (or inf/NaN): the reference's cases
    const float zp = std::min(std::max(std::nearbyint(0.f - mn / scale), 0.f), 255.f);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kUInt8, x.shape(), OutputInit::kOverwritten));
    uint8_t* py = y->data<uint8_t>();
    parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        fast::quantize_u8_array(px + c * kChunk, std::min(kChunk, count - c * kChunk), scale, zp, py + c * kChunk);
    });
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
    parallel_for((count + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t len = std::min(kChunk, count - c * kChunk);
        if (p.qtype == DType::kInt8)
          fast::quantize_s8_array(px + c * kChunk, len, p.scale, p.zero_point, y->data<int8_t>() + c * kChunk);
        else
          fast::quantize_u8_array(px + c * kChunk, len, p.scale, p.zero_point, y->data<uint8_t>() + c * kChunk);
      }
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
    parallel_for((count + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        const int64_t at = c * kChunk, len = std::min(kChunk, count - at);
        if (p.qtype == DType::kInt8) fast::dequantize_s8_array(x.data<int8_t>() + at, len, p.scale, p.zero_point, py + at);
        else fast::dequantize_u8_array(x.data<uint8_t>() + at, len, p.scale, p.zero_point, py + at);
      }
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
    parallel_for((count + kChunk - 1) / kChunk, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c)
        fast::quantize_dequantize_array(px + c * kChunk, std::min(kChunk, count - c * kChunk), p.scale, p.zero_point,
                                        qlo, qhi, py + c * kChunk);
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
}

}  // namespace sparsert
