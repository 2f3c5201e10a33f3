#include "jit/spmm/spmm_epilogue.h"

#include <algorithm>
#include <cmath>

#include "base/fast_math.h"

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
      for (int64_t i = 0; i < count; ++i) v[i] = 0.5f * v[i] * (1.f + fast::erf_f32(v[i] * 0.70710678118654752f));
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
  const int64_t mr = t.mr;
  float v[kBlock];
  float scale[kBlock];
  for (int64_t nb = 0; nb < t.rows; nb += kBlock) {
    const int64_t count = std::min(kBlock, t.rows - nb);
    const int64_t n = t.n0 + nb;
    if (d.dtype == SpmmDType::kU8S8 && d.out != SpmmOut::kS32)
      for (int64_t i = 0; i < count; ++i)
        scale[i] = a.x_scale * a.w_scales[a.w_scales_count == 1 ? 0 : n + i];
    for (int64_t m = 0; m < t.mt; ++m) {
      const int64_t row = t.m0 + m;
      if (d.dtype == SpmmDType::kF32) {
        const float* acc = static_cast<const float*>(t.acc) + nb * mr + m;
        for (int64_t i = 0; i < count; ++i) v[i] = acc[i * mr];
      } else {
        const int32_t* acc = static_cast<const int32_t*>(t.acc) + nb * mr + m;
        if (d.out == SpmmOut::kS32) {
          int32_t* y = static_cast<int32_t*>(a.y) + row * a.ldy + n;
          for (int64_t i = 0; i < count; ++i) y[i] = acc[i * mr];
          continue;
        }
        for (int64_t i = 0; i < count; ++i) v[i] = static_cast<float>(acc[i * mr]) * scale[i];
      }
      for (PostOp op : d.post) {
        if (op == PostOp::kNone) break;
        apply(op, v, count, a.bias == nullptr ? nullptr : a.bias + n,
              a.residual == nullptr ? nullptr : a.residual + row * a.ld_residual + n);
      }
      switch (d.out) {
        case SpmmOut::kF32:
          std::copy(v, v + count, static_cast<float*>(a.y) + row * a.ldy + n);
          break;
        case SpmmOut::kU8:
          requantize(v, count, a.y_scale, a.y_zero_point, static_cast<uint8_t*>(a.y) + row * a.ldy + n);
          break;
        case SpmmOut::kS8:
          requantize(v, count, a.y_scale, a.y_zero_point, static_cast<int8_t*>(a.y) + row * a.ldy + n);
          break;
        case SpmmOut::kS32:
          break;
      }
    }
  }
}

}  // namespace sparsert::jit
