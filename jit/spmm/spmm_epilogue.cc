#include "jit/spmm/spmm_epilogue.h"

#include <algorithm>
#include <cmath>

#include "base/fast_math.h"
#include "jit/isa.h"
#include "jit/spmm/spmm_transpose.h"

namespace sparsert::jit {
namespace {

constexpr int64_t kBlock = 64;  // output channels per pass: acc block (64 x mr x 4 B) stays in L1

// Each loop is plain and branch-free so GCC vectorizes it.
void apply(PostOp op, float* v, int64_t count, const float* bias, const float* residual) {
  switch (op) {
    case PostOp::kBias:
      for (int64_t i = 0; i < count; ++i) v[i] += bias[i];
      break;
    case PostOp::kRelu:
      for (int64_t i = 0; i < count; ++i) v[i] = std::max(v[i], 0.f);
      break;
    case PostOp::kGeluErf:
      // In the order PyTorch exports GELU (x / sqrt2 -> Erf -> + 1 -> x * . -> * 0.5), so a fused layer gives
      // the unfused graph's floats: a one-ulp change can flip the next layer's dynamic int8 rounding.
      for (int64_t i = 0; i < count; ++i) v[i] = (v[i] * (1.f + fast::erf_f32(v[i] / 1.41421356237309505f))) * 0.5f;
      break;
    case PostOp::kGeluTanh:
      for (int64_t i = 0; i < count; ++i) {
        const float x = v[i];
        v[i] = 0.5f * x * (1.f + fast::tanh_f32(0.7978845608028654f * (x + 0.044715f * x * x * x)));
      }
      break;
    case PostOp::kResidualAdd:
      for (int64_t i = 0; i < count; ++i) v[i] += residual[i];
      break;
    case PostOp::kNone:
      break;
  }
}

template <typename T>
void requantize(const float* v, int64_t count, float scale, int32_t zp, T* y) {
  constexpr float lo = std::is_same_v<T, uint8_t> ? 0.f : -128.f;
  constexpr float hi = std::is_same_v<T, uint8_t> ? 255.f : 127.f;
  for (int64_t i = 0; i < count; ++i) {
    const float q = std::nearbyint(v[i] / scale) + static_cast<float>(zp);
    y[i] = static_cast<T>(std::min(std::max(q, lo), hi));
  }
}

}  // namespace

void spmm_epilogue(const SpmmDesc& d, const SpmmRunArgs& a, const EpilogueTile& t) {
  const bool use_avx2 = may_use(kIsaAvx2, d.isa_cap);
  const bool dequantize = d.dtype == SpmmDType::kU8S8 && d.out != SpmmOut::kS32;
  // f32 and s32 accumulators are transposed straight into Y and finished in
  // place; int8 accumulators to be dequantized go through tile_rows. (No
  // memcpy here: GCC expands small ones to `rep movsq`, which cost a third of
  // the epilogue.)
  alignas(64) int32_t tile_rows[32 * kBlock];
  float v[kBlock];
  float scale[kBlock];
  for (int64_t nb = 0; nb < t.rows; nb += kBlock) {
    const int64_t count = std::min(kBlock, t.rows - nb);
    const int64_t n = t.n0 + nb;
    const uint32_t* acc = static_cast<const uint32_t*>(t.acc) + nb * t.mr;
    if (!dequantize) {
      transpose32(acc, t.mr, count, t.mt, static_cast<uint32_t*>(a.y) + t.m0 * a.ldy + n, a.ldy, use_avx2);
      if (d.out == SpmmOut::kS32 || d.post[0] == PostOp::kNone) continue;
      for (int64_t m = 0; m < t.mt; ++m) {
        const int64_t row = t.m0 + m;
        float* y = static_cast<float*>(a.y) + row * a.ldy + n;
        for (PostOp op : d.post) {
          if (op == PostOp::kNone) break;
          apply(op, y, count, a.bias == nullptr ? nullptr : a.bias + n,
                a.residual == nullptr ? nullptr : a.residual + row * a.ld_residual + n);
        }
      }
      continue;
    }
    transpose32(acc, t.mr, count, t.mt, tile_rows, kBlock, use_avx2);
    for (int64_t i = 0; i < count; ++i) scale[i] = a.x_scale * a.w_scales[a.w_scales_count == 1 ? 0 : n + i];
    for (int64_t m = 0; m < t.mt; ++m) {
      const int64_t row = t.m0 + m;
      const int32_t* s32 = tile_rows + m * kBlock;
      float* f = d.out == SpmmOut::kF32 ? static_cast<float*>(a.y) + row * a.ldy + n : v;
      for (int64_t i = 0; i < count; ++i) f[i] = static_cast<float>(s32[i]) * scale[i];
      for (PostOp op : d.post) {
        if (op == PostOp::kNone) break;
        apply(op, f, count, a.bias == nullptr ? nullptr : a.bias + n,
              a.residual == nullptr ? nullptr : a.residual + row * a.ld_residual + n);
      }
      if (d.out == SpmmOut::kU8)
        requantize(v, count, a.y_scale, a.y_zero_point, static_cast<uint8_t*>(a.y) + row * a.ldy + n);
      else if (d.out == SpmmOut::kS8)
        requantize(v, count, a.y_scale, a.y_zero_point, static_cast<int8_t*>(a.y) + row * a.ldy + n);
    }
  }
}

}  // namespace sparsert::jit
