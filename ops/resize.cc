// Resize (opset 11+; opset 10's form is rewritten to it on import): nearest,
// linear (n-linear) and cubic modes, every coordinate_transformation_mode,
// `axes` and keep_aspect_ratio_policy (opset 18). Interpolation is separable:
// each resized axis gets, per output coordinate, a list of (input index, weight)
// taps; an output element sums the products over all tap combinations.
// Coordinates are computed in float, as ONNX Runtime does, so nearest-mode
// rounding at .5 boundaries picks the same pixel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/op_util.h"
#include "ops/registry.h"

namespace sparsert {
namespace {

struct Tap {
  int64_t index;
  double weight;
};

struct ResizeParams {
  std::string mode, coord, nearest;
  float cubic_a = -0.75f;
  bool exclude_outside = false;
  float extrapolation = 0.f;
};

// Input coordinate of output coordinate x on one axis.
float original_coordinate(const ResizeParams& p, float x, float scale, int64_t in_len, int64_t out_len,
                          float roi_start, float roi_end) {
  const std::string& m = p.coord;
  if (m == "half_pixel") return (x + 0.5f) / scale - 0.5f;
  if (m == "half_pixel_symmetric") {
    const float adjustment = static_cast<float>(out_len) / (scale * static_cast<float>(in_len));
    const float center = static_cast<float>(in_len) / 2.f;
    return center * (1.f - adjustment) + (x + 0.5f) / scale - 0.5f;
  }
  if (m == "pytorch_half_pixel") return out_len > 1 ? (x + 0.5f) / scale - 0.5f : 0.f;
  if (m == "align_corners")
    return out_len == 1 ? 0.f : x * static_cast<float>(in_len - 1) / static_cast<float>(out_len - 1);
  if (m == "asymmetric") return x / scale;
  // tf_crop_and_resize
  return out_len > 1 ? roi_start * static_cast<float>(in_len - 1) +
                           x * (roi_end - roi_start) * static_cast<float>(in_len - 1) / static_cast<float>(out_len - 1)
                     : 0.5f * (roi_start + roi_end) * static_cast<float>(in_len - 1);
}

int64_t nearest_index(const std::string& mode, float x) {
  if (mode == "floor") return static_cast<int64_t>(std::floor(x));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  const float f = std::floor(x);
  if (x - f == 0.5f) return static_cast<int64_t>(mode == "round_prefer_ceil" ? f + 1 : f);
  return static_cast<int64_t>(std::round(x));
}

std::vector<double> cubic_coefficients(double s, double a) {
  auto far = [a](double t) { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a; };  // 1 <= |t| < 2
  auto near = [a](double t) { return ((a + 2) * t - (a + 3)) * t * t + 1; };       // |t| < 1
  return {far(s + 1), near(s), near(1 - s), far(2 - s)};
}

// Taps for every output coordinate of one axis; an empty list marks a coordinate
// outside the input (tf_crop_and_resize extrapolation).
std::vector<std::vector<Tap>> axis_taps(const ResizeParams& p, int64_t in_len, int64_t out_len, float scale,
                                        float roi_start, float roi_end) {
  std::vector<std::vector<Tap>> taps(static_cast<size_t>(out_len));
  for (int64_t o = 0; o < out_len; ++o) {
    std::vector<Tap>& t = taps[static_cast<size_t>(o)];
    if (in_len == out_len && scale == 1.f && p.coord != "tf_crop_and_resize") {
      t.push_back({o, 1.0});
      continue;
    }
    const float x = original_coordinate(p, static_cast<float>(o), scale, in_len, out_len, roi_start, roi_end);
    if (p.coord == "tf_crop_and_resize" && (x < 0.f || x > static_cast<float>(in_len - 1))) continue;
    if (p.mode == "nearest") {
      t.push_back({std::clamp<int64_t>(nearest_index(p.nearest, x), 0, in_len - 1), 1.0});
    } else if (p.mode == "linear") {
      const float xc = std::clamp(x, 0.f, static_cast<float>(in_len - 1));
      const int64_t x0 = static_cast<int64_t>(xc), x1 = std::min<int64_t>(x0 + 1, in_len - 1);
      const double w1 = xc - static_cast<float>(x0);
      t.push_back({x0, 1.0 - w1});
      if (x1 != x0) t.push_back({x1, w1});
      else t[0].weight = 1.0;
    } else {  // cubic
      const double f = std::floor(x);
      const std::vector<double> c = cubic_coefficients(x - f, p.cubic_a);
      double sum = 0;
      for (int j = 0; j < 4; ++j) {
        const int64_t idx = static_cast<int64_t>(f) - 1 + j;
        if (p.exclude_outside && (idx < 0 || idx >= in_len)) continue;
        t.push_back({std::clamp<int64_t>(idx, 0, in_len - 1), c[static_cast<size_t>(j)]});
        sum += c[static_cast<size_t>(j)];
      }
      if (p.exclude_outside && sum != 0)
        for (Tap& tap : t) tap.weight /= sum;
    }
  }
  return taps;
}

StatusOr<std::vector<float>> floats_of(const Tensor& t, const Node& node, const char* what) {
  if (t.dtype() != DType::kFloat32)
    return InvalidArgument(node.describe(), ": ", what, " must be float, got ", t.type_string());
  return std::vector<float>(t.data<float>(), t.data<float>() + t.num_elements());
}

Status resize_kernel(KernelContext& ctx) {
  SPARSERT_RETURN_IF_ERROR(expect_input(ctx, 0, {DType::kFloat32}));
  const Node& node = ctx.node();
  const Tensor& x = *ctx.input(0);
  const int rank = x.rank();
  ResizeParams p;
  SPARSERT_ASSIGN_OR_RETURN(p.mode, node.attrs.get_string("mode", "nearest"));
  SPARSERT_ASSIGN_OR_RETURN(p.coord, node.attrs.get_string("coordinate_transformation_mode", "half_pixel"));
  SPARSERT_ASSIGN_OR_RETURN(p.nearest, node.attrs.get_string("nearest_mode", "round_prefer_floor"));
  SPARSERT_ASSIGN_OR_RETURN(p.cubic_a, node.attrs.get_float("cubic_coeff_a", -0.75f));
  SPARSERT_ASSIGN_OR_RETURN(int64_t exclude, node.attrs.get_int("exclude_outside", 0));
  SPARSERT_ASSIGN_OR_RETURN(p.extrapolation, node.attrs.get_float("extrapolation_value", 0.f));
  SPARSERT_ASSIGN_OR_RETURN(int64_t antialias, node.attrs.get_int("antialias", 0));
  SPARSERT_ASSIGN_OR_RETURN(std::string policy, node.attrs.get_string("keep_aspect_ratio_policy", "stretch"));
  p.exclude_outside = exclude != 0;
  if (p.mode != "nearest" && p.mode != "linear" && p.mode != "cubic")
    return InvalidArgument(node.describe(), ": unknown mode '", p.mode, "'");
  static const char* kCoords[] = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                  "asymmetric", "tf_crop_and_resize"};
  if (std::find(std::begin(kCoords), std::end(kCoords), p.coord) == std::end(kCoords))
    return InvalidArgument(node.describe(), ": unknown coordinate_transformation_mode '", p.coord, "'");
  static const char* kNearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  if (std::find(std::begin(kNearest), std::end(kNearest), p.nearest) == std::end(kNearest))
    return InvalidArgument(node.describe(), ": unknown nearest_mode '", p.nearest, "'");
  if (antialias) return Unimplemented(node.describe(), ": antialias=1 is not supported");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    return InvalidArgument(node.describe(), ": unknown keep_aspect_ratio_policy '", policy, "'");

  std::vector<int64_t> axes;
  SPARSERT_ASSIGN_OR_RETURN(axes, node.attrs.get_ints("axes", std::vector<int64_t>{}));
  if (axes.empty())
    for (int d = 0; d < rank; ++d) axes.push_back(d);
  for (int64_t& a : axes) { SPARSERT_ASSIGN_OR_RETURN(a, normalize_axis(a, rank, node)); }
  const size_t na = axes.size();

  const Tensor* roi_t = ctx.input(1);
  const Tensor* scales_t = ctx.input(2);
  const Tensor* sizes_t = ctx.input(3);
  if (scales_t && scales_t->num_elements() == 0) scales_t = nullptr;
  if (sizes_t && sizes_t->num_elements() == 0) sizes_t = nullptr;
  if ((scales_t != nullptr) == (sizes_t != nullptr))
    return InvalidArgument(node.describe(), ": exactly one of 'scales' and 'sizes' must be given");
  std::vector<float> roi_start(rank, 0.f), roi_end(rank, 1.f);
  if (p.coord == "tf_crop_and_resize" && roi_t && roi_t->num_elements() > 0) {
    SPARSERT_ASSIGN_OR_RETURN(std::vector<float> roi, floats_of(*roi_t, node, "roi"));
    if (roi.size() != 2 * na)
      return InvalidArgument(node.describe(), ": roi has ", roi.size(), " values, expected ", 2 * na);
    for (size_t i = 0; i < na; ++i) {
      roi_start[static_cast<size_t>(axes[i])] = roi[i];
      roi_end[static_cast<size_t>(axes[i])] = roi[i + na];
    }
  }
  std::vector<float> scale(rank, 1.f);
  Shape out = x.shape();
  if (scales_t) {
    SPARSERT_ASSIGN_OR_RETURN(std::vector<float> s, floats_of(*scales_t, node, "scales"));
    if (s.size() != na) return InvalidArgument(node.describe(), ": scales has ", s.size(), " values, expected ", na);
    for (size_t i = 0; i < na; ++i) {
      const size_t a = static_cast<size_t>(axes[i]);
      if (!(s[i] > 0.f)) return InvalidArgument(node.describe(), ": scale ", s[i], " must be positive");
      scale[a] = s[i];
      const double len = static_cast<double>(x.dim(static_cast<int>(a))) * (roi_end[a] - roi_start[a]) * s[i];
      if (!(len < 1e15)) return InvalidArgument(node.describe(), ": scale ", s[i], " gives an absurd output size");
      out[a] = static_cast<int64_t>(std::floor(len));
    }
  } else {
    SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> sz, tensor_to_int64s(*sizes_t, "Resize sizes"));
    if (sz.size() != na) return InvalidArgument(node.describe(), ": sizes has ", sz.size(), " values, expected ", na);
    for (int64_t v : sz)
      if (v < 0) return InvalidArgument(node.describe(), ": negative size ", v);
    if (policy != "stretch") {
      float common = policy == "not_larger" ? INFINITY : 0.f;
      for (size_t i = 0; i < na; ++i) {
        const float r = static_cast<float>(sz[i]) / static_cast<float>(x.dim(static_cast<int>(axes[i])));
        common = policy == "not_larger" ? std::min(common, r) : std::max(common, r);
      }
      for (size_t i = 0; i < na; ++i) {
        const size_t a = static_cast<size_t>(axes[i]);
        scale[a] = common;
        out[a] = static_cast<int64_t>(std::floor(common * static_cast<float>(x.dim(static_cast<int>(a))) + 0.5f));
      }
    } else {
      for (size_t i = 0; i < na; ++i) {
        const size_t a = static_cast<size_t>(axes[i]);
        out[a] = sz[i];
        scale[a] = static_cast<float>(sz[i]) / static_cast<float>(x.dim(static_cast<int>(a)));
      }
    }
  }
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, out));
  if (y->num_elements() == 0) return Status::OK();
  if (x.num_elements() == 0) return InvalidArgument(node.describe(), ": cannot resize an empty input to ", y->type_string());

  std::vector<std::vector<std::vector<Tap>>> taps(static_cast<size_t>(rank));
  for (int d = 0; d < rank; ++d)
    taps[static_cast<size_t>(d)] = axis_taps(p, x.dim(d), out[static_cast<size_t>(d)], scale[static_cast<size_t>(d)],
                                             roi_start[static_cast<size_t>(d)], roi_end[static_cast<size_t>(d)]);
  const std::vector<int64_t> xstr = contiguous_strides(x.shape());
  const float* px = x.data<float>();
  float* py = y->data<float>();
  std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
  std::vector<size_t> pick(static_cast<size_t>(rank));
  for (int64_t i = 0, n = y->num_elements(); i < n; ++i) {
    bool outside = false;
    for (int d = 0; d < rank; ++d) outside |= taps[static_cast<size_t>(d)][static_cast<size_t>(idx[d])].empty();
    double acc = 0;
    if (outside) {
      acc = p.extrapolation;
    } else {
      // Odometer over the tap combinations of every axis.
      std::fill(pick.begin(), pick.end(), 0);
      while (true) {
        double w = 1;
        int64_t off = 0;
        for (int d = 0; d < rank; ++d) {
          const Tap& t = taps[static_cast<size_t>(d)][static_cast<size_t>(idx[d])][pick[static_cast<size_t>(d)]];
          w *= t.weight;
          off += t.index * xstr[static_cast<size_t>(d)];
        }
        acc += w * px[off];
        int d = rank - 1;
        for (; d >= 0; --d) {
          if (++pick[static_cast<size_t>(d)] < taps[static_cast<size_t>(d)][static_cast<size_t>(idx[d])].size()) break;
          pick[static_cast<size_t>(d)] = 0;
        }
        if (d < 0) break;
      }
    }
    py[i] = static_cast<float>(acc);
    for (int d = rank - 1; d >= 0; --d) {
      if (++idx[static_cast<size_t>(d)] < out[static_cast<size_t>(d)]) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
  return Status::OK();
}

}  // namespace

void register_resize_ops(OpRegistry& r) { r.add({"", "Resize", 1, 4, 1, 1, resize_kernel}); }

}  // namespace sparsert
