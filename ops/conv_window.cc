#include "ops/conv_window.h"

#include <algorithm>

namespace sparsert {

StatusOr<Window> make_window(const Node& node, const Shape& x, std::vector<int64_t> kernel, bool ceil_mode) {
  const size_t nsp = x.size() - 2;
  if (nsp < 1 || nsp > 2)
    return Unimplemented(node.describe(), ": only 1-D and 2-D spatial inputs are supported, got ", shape_to_string(x));
  if (kernel.size() != nsp)
    return InvalidArgument(node.describe(), ": kernel_shape ", shape_to_string(kernel), " does not match input ",
                           shape_to_string(x));
  SPARSERT_ASSIGN_OR_RETURN(auto strides, node.attrs.get_ints("strides", std::vector<int64_t>(nsp, 1)));
  SPARSERT_ASSIGN_OR_RETURN(auto dil, node.attrs.get_ints("dilations", std::vector<int64_t>(nsp, 1)));
  SPARSERT_ASSIGN_OR_RETURN(auto pads, node.attrs.get_ints("pads", std::vector<int64_t>(2 * nsp, 0)));
  SPARSERT_ASSIGN_OR_RETURN(std::string auto_pad, node.attrs.get_string("auto_pad", "NOTSET"));
  if (strides.size() != nsp || dil.size() != nsp || pads.size() != 2 * nsp)
    return InvalidArgument(node.describe(), ": strides/dilations/pads do not match ", nsp, " spatial dims");
  std::vector<int64_t> in(x.begin() + 2, x.end()), out(nsp);
  for (size_t i = 0; i < nsp; ++i) {
    if (kernel[i] <= 0 || strides[i] <= 0 || dil[i] <= 0 || pads[i] < 0 || pads[i + nsp] < 0)
      return InvalidArgument(node.describe(), ": kernel, strides and dilations must be positive and pads >= 0");
    const int64_t ext = dil[i] * (kernel[i] - 1) + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      out[i] = (in[i] + strides[i] - 1) / strides[i];
      int64_t total = std::max<int64_t>(0, (out[i] - 1) * strides[i] + ext - in[i]);
      int64_t small = total / 2, big = total - small;
      pads[i] = auto_pad == "SAME_UPPER" ? small : big;
      pads[i + nsp] = auto_pad == "SAME_UPPER" ? big : small;
    } else {
      if (auto_pad == "VALID") pads[i] = pads[i + nsp] = 0;
      else if (auto_pad != "NOTSET")
        return InvalidArgument(node.describe(), ": unknown auto_pad '", auto_pad, "'");
      int64_t span = in[i] + pads[i] + pads[i + nsp] - ext;
      if (span < 0)
        return InvalidArgument(node.describe(), ": window ", ext, " is larger than padded input ", shape_to_string(x));
      out[i] = (ceil_mode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
      // A window that would start entirely in the end padding is dropped (ceil_mode rule).
      if (ceil_mode && (out[i] - 1) * strides[i] >= in[i] + pads[i]) --out[i];
    }
  }
  Window w;
  const size_t h = nsp == 2 ? 0 : SIZE_MAX, wd = nsp - 1;
  w.kw = kernel[wd]; w.sw = strides[wd]; w.dw = dil[wd]; w.pl = pads[wd]; w.pr = pads[wd + nsp];
  w.iw = in[wd]; w.ow = out[wd];
  if (h == 0) {
    w.kh = kernel[0]; w.sh = strides[0]; w.dh = dil[0]; w.pt = pads[0]; w.pb = pads[nsp];
    w.ih = in[0]; w.oh = out[0];
  }
  return w;
}

Shape window_output_shape(const Shape& x, int64_t channels, const Window& w) {
  Shape s = {x[0], channels};
  if (x.size() == 4) s.push_back(w.oh);
  s.push_back(w.ow);
  return s;
}

StatusOr<ConvGeometry> conv_geometry(const Node& node, const Shape& x, const Shape& wt) {
  if (x.size() < 3 || wt.size() != x.size())
    return InvalidArgument(node.describe(), ": input ", shape_to_string(x), " and weight ", shape_to_string(wt),
                           " ranks do not match");
  ConvGeometry g;
  SPARSERT_ASSIGN_OR_RETURN(g.group, node.attrs.get_int("group", 1));
  g.N = x[0];
  g.C = x[1];
  g.M = wt[0];
  if (g.group <= 0 || g.C % g.group != 0 || g.M % g.group != 0 || wt[1] != g.C / g.group)
    return InvalidArgument(node.describe(), ": weight ", shape_to_string(wt), " does not fit input ", shape_to_string(x),
                           " with group=", g.group);
  std::vector<int64_t> kernel(wt.begin() + 2, wt.end());
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> attr_kernel, node.attrs.get_ints("kernel_shape", kernel));
  if (attr_kernel != kernel)
    return InvalidArgument(node.describe(), ": kernel_shape ", shape_to_string(attr_kernel), " does not match weight ",
                           shape_to_string(wt));
  SPARSERT_ASSIGN_OR_RETURN(g.w, make_window(node, x, kernel, false));
  g.out_shape = window_output_shape(x, g.M, g.w);
  return g;
}

}  // namespace sparsert
