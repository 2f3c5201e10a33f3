// The f32 tile packing of a convolution's implicit im2col (SpmmConvRows):
// tile[k][m] for the tile's rows m0 .. m0 + mt, gathered from the
// channel-blocked image one (tap, channel block) at a time, b input channels
// of mt pixels each a transpose (XNNPACK's sparse 1x1 convolutions read CHW
// rows the same way; here any window, stride, dilation and padding).
#pragma once

#include <cstdint>

#include "base/status.h"
#include "jit/spmm/spmm.h"

namespace sparsert::jit {

// The geometry's checks against the layer (K = kh * kw * C, C a multiple of
// block) and against M rows from first_pixel.
Status validate_conv_rows(const SpmmConvRows& c, const SpmmDesc& d, int64_t m);

// out[k * mr + m] = X[m0 + m][k] for m < mt, k < K (rows mt .. mr untouched).
void pack_conv_rows(const SpmmConvRows& c, int64_t k, int64_t m0, int64_t mt, float* out, int64_t mr, uint32_t isa);

}  // namespace sparsert::jit
