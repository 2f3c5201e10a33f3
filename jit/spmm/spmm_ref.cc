#include "jit/spmm/spmm_ref.h"

#include <algorithm>
#include <cmath>

namespace sparsert::jit {

namespace {

// X[m][k] of a convolution's rows, by SpmmConvRows' definition.
float conv_row_value(const SpmmConvRows& c, int64_t K, int64_t m, int64_t k) {
  const int64_t channels = K / (c.kh * c.kw), tap = k / channels, ch = k % channels;
  const int64_t p = c.first_pixel + m, oy = p / c.ow, ox = p % c.ow;
  const int64_t iy = oy * c.sh - c.pt + tap / c.kw * c.dh, ix = ox * c.sw - c.pl + tap % c.kw * c.dw;
  if (iy < 0 || iy >= c.ih || ix < 0 || ix >= c.iw) return 0.f;
  return c.x[((ch / c.block * c.ih + iy) * c.iw + ix) * c.block + ch % c.block];
}

}  // namespace

void spmm_reference(const SpmmDesc& d, const void* w, int64_t stride_n, int64_t stride_k, const SpmmRunArgs& a) {
  for (int64_t m = 0; m < a.m; ++m) {
    for (int64_t n = 0; n < d.n; ++n) {
      double v = 0.0;
      if (d.dtype == SpmmDType::kF32) {
        const float* wf = static_cast<const float*>(w);
        for (int64_t c = 0; c < d.k; ++c) {
          const float x = a.conv != nullptr ? conv_row_value(*a.conv, d.k, m, c)
                                            : static_cast<const float*>(a.x)[m * a.ldx + c];
          v += static_cast<double>(x) * wf[n * stride_n + c * stride_k];
        }
      } else {
        const uint8_t* x = static_cast<const uint8_t*>(a.x) + m * a.ldx;
        const int8_t* wq = static_cast<const int8_t*>(w);
        int64_t acc = 0;
        for (int64_t c = 0; c < d.k; ++c)
          acc += static_cast<int64_t>(x[c] - a.x_zero_point) * wq[n * stride_n + c * stride_k];
        if (d.out == SpmmOut::kS32) {
          static_cast<int32_t*>(a.y)[m * a.ldy + n] = static_cast<int32_t>(acc);
          continue;
        }
        v = static_cast<double>(acc) * a.x_scale * a.w_scales[a.w_scales_count == 1 ? 0 : n];
      }
      for (PostOp op : d.post) {
        switch (op) {
          case PostOp::kNone: break;
          case PostOp::kBias: v += a.bias[n]; break;
          case PostOp::kRelu: v = std::max(v, 0.0); break;
          case PostOp::kGeluErf: v = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0))); break;
          case PostOp::kGeluTanh:
            v = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
            break;
          case PostOp::kClip: v = std::min(std::max(v, static_cast<double>(a.clip_min)), static_cast<double>(a.clip_max)); break;
          case PostOp::kResidualAdd:
            v += a.residual[a.y_block > 0 ? n / a.y_block * a.y_block_stride + m * a.y_block + n % a.y_block
                                          : m * a.ld_residual + n];
            break;
        }
      }
      const int64_t at = a.y_block > 0 ? n / a.y_block * a.y_block_stride + m * a.y_block + n % a.y_block : m * a.ldy + n;
      switch (d.out) {
        case SpmmOut::kF32: static_cast<float*>(a.y)[at] = static_cast<float>(v); break;
        case SpmmOut::kU8:
          static_cast<uint8_t*>(a.y)[at] =
              static_cast<uint8_t>(std::clamp(std::nearbyint(v / a.y_scale) + a.y_zero_point, 0.0, 255.0));
          break;
        case SpmmOut::kS8:
          static_cast<int8_t*>(a.y)[at] =
              static_cast<int8_t>(std::clamp(std::nearbyint(v / a.y_scale) + a.y_zero_point, -128.0, 127.0));
          break;
        case SpmmOut::kS32: break;
      }
    }
  }
}

}  // namespace sparsert::jit
