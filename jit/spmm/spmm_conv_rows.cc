#include "jit/spmm/spmm_conv_rows.h"

#include <vector>

#include "jit/spmm/spmm_transpose.h"

namespace sparsert::jit {

Status validate_conv_rows(const SpmmConvRows& c, const SpmmDesc& d, int64_t m) {
  if (d.dtype != SpmmDType::kF32) return InvalidArgument("spmm: convolution rows need f32, got ", to_string(d.dtype));
  if (c.x == nullptr) return InvalidArgument("spmm: convolution rows need the input image");
  const int64_t taps = c.kh * c.kw;
  if (c.block < 1 || c.block > 64 || c.kh < 1 || c.kw < 1 || d.k % taps != 0 || d.k / taps % c.block != 0)
    return InvalidArgument("spmm: convolution rows: K=", d.k, " must be ", c.kh, "x", c.kw,
                           " taps x a multiple of the channel block ", c.block, " (1..64)");
  if (c.ih < 1 || c.iw < 1 || c.oh < 1 || c.ow < 1 || c.sh < 1 || c.sw < 1 || c.dh < 1 || c.dw < 1)
    return InvalidArgument("spmm: convolution rows: sizes, strides and dilations must be >= 1");
  if (c.first_pixel < 0 || c.first_pixel + m > c.oh * c.ow)
    return InvalidArgument("spmm: convolution rows: pixels ", c.first_pixel, " .. ", c.first_pixel + m,
                           " are outside the ", c.oh, "x", c.ow, " output");
  return Status::OK();
}

void pack_conv_rows(const SpmmConvRows& c, int64_t k, int64_t m0, int64_t mt, float* out, int64_t mr, uint32_t isa) {
  const int64_t b = c.block, taps = c.kh * c.kw, blocks = k / taps / b, in_plane = c.ih * c.iw;
  const int64_t p0 = c.first_pixel + m0;
  if (taps == 1 && c.sh == 1 && c.sw == 1 && c.pt == 0 && c.pl == 0 && c.ih == c.oh && c.iw == c.ow) {
    // Output pixel p reads input pixel p: a channel block's rows are b floats apart.
    for (int64_t cb = 0; cb < blocks; ++cb)
      transpose32(c.x + (cb * in_plane + p0) * b, b, mt, b, out + cb * b * mr, mr, isa);
    return;
  }
  alignas(64) static const float zeros[64] = {};
  thread_local std::vector<int64_t> offset;  // per row: its input pixel's offset in a block, or -1 (padding)
  thread_local std::vector<const float*> rows;
  offset.resize(static_cast<size_t>(mt));
  rows.resize(static_cast<size_t>(mt));
  for (int64_t ky = 0; ky < c.kh; ++ky)
    for (int64_t kx = 0; kx < c.kw; ++kx) {
      for (int64_t m = 0; m < mt; ++m) {
        const int64_t p = p0 + m, oy = p / c.ow, ox = p % c.ow;
        const int64_t iy = oy * c.sh - c.pt + ky * c.dh, ix = ox * c.sw - c.pl + kx * c.dw;
        offset[static_cast<size_t>(m)] = iy >= 0 && iy < c.ih && ix >= 0 && ix < c.iw ? (iy * c.iw + ix) * b : -1;
      }
      const int64_t tap = ky * c.kw + kx;
      for (int64_t cb = 0; cb < blocks; ++cb) {
        const float* base = c.x + cb * in_plane * b;
        for (int64_t m = 0; m < mt; ++m) {
          const int64_t o = offset[static_cast<size_t>(m)];
          rows[static_cast<size_t>(m)] = o < 0 ? zeros : base + o;
        }
        transpose32_rows(rows.data(), mt, b, out + (tap * blocks + cb) * b * mr, mr, isa);
      }
    }
}

}  // namespace sparsert::jit
