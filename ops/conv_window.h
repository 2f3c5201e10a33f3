// Window geometry shared by Conv, ConvInteger, QLinearConv and the pooling ops:
// kernel/stride/dilation/pad attributes (incl. auto_pad) for 1-D and 2-D inputs
// (1-D is handled as 2-D with height 1), and the direct convolution loop the
// reference kernels of all three convolutions share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "graph/tensor.h"

namespace sparsert {

struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // top, left, bottom, right
  int64_t ih = 1, iw = 1, oh = 1, ow = 1;
};

// Reads the window attributes of `node` for input shape x (N, C, spatial...)
// and computes the output spatial size.
StatusOr<Window> make_window(const Node& node, const Shape& x, std::vector<int64_t> kernel, bool ceil_mode);
// {N, channels, oh?, ow}
Shape window_output_shape(const Shape& x, int64_t channels, const Window& w);

// Grouped convolution geometry checked against the weight: N, C, M (output
// channels), group, and the window.
struct ConvGeometry {
  int64_t N = 0, C = 0, M = 0, group = 1;
  Window w;
  Shape out_shape;
};
StatusOr<ConvGeometry> conv_geometry(const Node& node, const Shape& x, const Shape& weight);

// ConvTranspose's attributes for `nsp` spatial dims, sizes and values checked
// (output_shape reduced to its spatial part).
struct ConvTransposeAttrs {
  std::vector<int64_t> strides, dilations, pads, output_padding, output_shape;
  std::string auto_pad;
};
StatusOr<ConvTransposeAttrs> conv_transpose_attrs(const Node& node, size_t nsp);
// Output length of spatial axis i for input length `in` and kernel length `k`,
// and the padding cut from its start: explicit pads, or from output_shape /
// auto_pad (an odd total puts the extra pixel at the end for SAME_UPPER, at the
// start otherwise, as the spec says and ONNX Runtime does).
struct TransposeExtent {
  int64_t out = 0, pad_begin = 0;
};
TransposeExtent conv_transpose_extent(const ConvTransposeAttrs& a, size_t i, int64_t in, int64_t k);

// Direct convolution: for every output element, acc = init(m) + sum over the
// window of xv(n, c, iy*iw+ix) * wv(m, c_in_group, ky*kw+kx), then
// store(n, m, oy*ow+ox, acc). Padding positions contribute nothing.
template <typename Acc, typename Init, typename XV, typename WV, typename Store>
void conv_direct(const ConvGeometry& g, Init&& init, XV&& xv, WV&& wv, Store&& store) {
  const Window& w = g.w;
  const int64_t cg = g.C / g.group, mg = g.M / g.group;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t m = 0; m < g.M; ++m) {
      const int64_t grp = m / mg;
      for (int64_t oy = 0; oy < w.oh; ++oy)
        for (int64_t ox = 0; ox < w.ow; ++ox) {
          Acc acc = init(m);
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < w.kh; ++ky) {
              const int64_t iy = oy * w.sh - w.pt + ky * w.dh;
              if (iy < 0 || iy >= w.ih) continue;
              for (int64_t kx = 0; kx < w.kw; ++kx) {
                const int64_t ix = ox * w.sw - w.pl + kx * w.dw;
                if (ix < 0 || ix >= w.iw) continue;
                acc += static_cast<Acc>(xv(n, grp * cg + c, iy * w.iw + ix)) * static_cast<Acc>(wv(m, c, ky * w.kw + kx));
              }
            }
          store(n, m, oy * w.ow + ox, acc);
        }
    }
}

}  // namespace sparsert
