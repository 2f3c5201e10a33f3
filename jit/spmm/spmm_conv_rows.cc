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
  thread_local std::vector<int64_t> offset;  // per row: its input pixel's offset in a block, or -1 (padding)
  thread_local std::vector<int64_t> top, left;  // per row: its window's first input row and column
  offset.resize(static_cast<size_t>(mt));
  top.resize(static_cast<size_t>(mt));
  left.resize(static_cast<size_t>(mt));
  // Pixels in order, no division per pixel and tap (two int64 divisions per
  // pixel and tap were a third of a 3x3 layer's packing).
  for (int64_t m = 0, oy = p0 / c.ow, ox = p0 % c.ow; m < mt; ++m) {
    top[static_cast<size_t>(m)] = oy * c.sh - c.pt;
    left[static_cast<size_t>(m)] = ox * c.sw - c.pl;
    if (++ox == c.ow) ox = 0, ++oy;
  }
  for (int64_t ky = 0; ky < c.kh; ++ky)
    for (int64_t kx = 0; kx < c.kw; ++kx) {
      for (int64_t m = 0; m < mt; ++m) {
        const int64_t iy = top[static_cast<size_t>(m)] + ky * c.dh, ix = left[static_cast<size_t>(m)] + kx * c.dw;
        offset[static_cast<size_t>(m)] = iy >= 0 && iy < c.ih && ix >= 0 && ix < c.iw ? (iy * c.iw + ix) * b : -1;
      }
      const int64_t tap = ky * c.kw + kx;
      for (int64_t cb = 0; cb < blocks; ++cb)
        transpose32_gather(c.x + cb * in_plane * b, offset.data(), mt, b, out + (tap * blocks + cb) * b * mr, mr, isa);
    }
}

}  // namespace sparsert::jit
