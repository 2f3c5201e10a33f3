// Shape rules, part 2: data-movement and shape-manipulation ops, with symbolic
// value tracking for the small integer tensors of shape chains (Shape, Gather,
// Unsqueeze, Concat, Slice, arithmetic), so a Reshape whose target is computed
// from Shape(x) still gets symbolic output dims.
#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "ops/registry.h"
#include "ops/shape_rules_util.h"

namespace sparsert {
namespace {
using namespace shape_rules;

// A product of dims: a static factor times named symbols; `opaque` when an
// unnamed dim took part (then nothing can be divided out of it).
struct SymProduct {
  int64_t factor = 1;
  std::multiset<std::string> symbols;
  bool opaque = false;
  void mul(const Dim& d) {
    if (d.is_static()) factor *= d.value;
    else if (d.symbol.empty()) opaque = true;
    else symbols.insert(d.symbol);
  }
};

// total / part as a Dim, when it is exact: a static value or a single symbol.
Dim divide(const SymProduct& total, const SymProduct& part) {
  if (total.opaque || part.opaque || part.factor == 0 || total.factor % part.factor != 0) return unknown_dim();
  std::multiset<std::string> rest = total.symbols;
  for (const std::string& s : part.symbols) {
    auto it = rest.find(s);
    if (it == rest.end()) return unknown_dim();
    rest.erase(it);
  }
  const int64_t f = total.factor / part.factor;
  if (rest.empty()) return Dim::of(f);
  if (rest.size() == 1 && f == 1) return Dim::sym(*rest.begin());
  return unknown_dim();
}

// Index into a dim list with Python-style negatives; nullopt when out of range.
std::optional<size_t> index_of(int64_t i, size_t size) {
  if (i < 0) i += static_cast<int64_t>(size);
  if (i < 0 || i >= static_cast<int64_t>(size)) return std::nullopt;
  return static_cast<size_t>(i);
}

Status shape_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x)) { c.set_output(0, DType::kInt64, {unknown_dim()}); return Status::OK(); }
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  SPARSERT_ASSIGN_OR_RETURN(int64_t start, c.node().attrs.get_int("start", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t end, c.node().attrs.get_int("end", rank));
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  DimValues v;
  for (int64_t d = start; d < end; ++d) v.push_back(SymInt::from_dim(x.dims[static_cast<size_t>(d)]));
  c.set_output(0, DType::kInt64, {Dim::of(static_cast<int64_t>(v.size()))});
  c.set_output_values(0, std::move(v));
  return Status::OK();
}

Status reshape_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  const auto& target = c.input_values(1);
  const ValueType& tt = c.input(1);
  if (!target) {
    // Rank is still known from the shape tensor's length.
    if (known(tt) && tt.dims.size() == 1 && tt.dims[0].is_static())
      c.set_output(0, x.dtype, std::vector<Dim>(static_cast<size_t>(tt.dims[0].value), unknown_dim()));
    else c.set_output_rank_unknown(0, x.dtype);
    return Status::OK();
  }
  SPARSERT_ASSIGN_OR_RETURN(int64_t allowzero, c.node().attrs.get_int("allowzero", 0));
  std::vector<Dim> out;
  int infer_at = -1;
  SymProduct part;
  for (size_t i = 0; i < target->size(); ++i) {
    const SymInt& v = (*target)[i];
    if (v.known && v.value == -1) {
      if (infer_at >= 0) return InvalidArgument(c.node().describe(), ": more than one -1 in the target shape");
      infer_at = static_cast<int>(i);
      out.push_back(unknown_dim());
      continue;
    }
    if (v.known && v.value < -1) return InvalidArgument(c.node().describe(), ": invalid target dim ", v.value);
    Dim d = v.to_dim();
    if (v.known && v.value == 0 && !allowzero) d = known(x) && i < x.dims.size() ? x.dims[i] : unknown_dim();
    part.mul(d);
    out.push_back(d);
  }
  if (infer_at >= 0 && known(x)) {
    SymProduct total;
    for (const Dim& d : x.dims) total.mul(d);
    out[static_cast<size_t>(infer_at)] = divide(total, part);
  }
  c.set_output(0, x.dtype, out);
  // Reshaping a tracked value (e.g. a 1-element shape piece to a scalar) keeps it.
  if (c.input_values(0)) c.set_output_values(0, *c.input_values(0));
  return Status::OK();
}

Status flatten_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x)) { c.set_output(0, x.dtype, {unknown_dim(), unknown_dim()}); return Status::OK(); }
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, c.node().attrs.get_int("axis", 1));
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return InvalidArgument(c.node().describe(), ": axis out of range for ", x.to_string());
  SymProduct outer, inner, one;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : inner).mul(x.dims[static_cast<size_t>(d)]);
  c.set_output(0, x.dtype, {divide(outer, one), divide(inner, one)});
  return Status::OK();
}

Status transpose_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<int64_t> rev;
  for (int64_t d = static_cast<int64_t>(x.dims.size()) - 1; d >= 0; --d) rev.push_back(d);
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> perm, c.node().attrs.get_ints("perm", rev));
  if (perm.size() != x.dims.size())
    return InvalidArgument(c.node().describe(), ": perm has ", perm.size(), " entries for ", x.to_string());
  std::vector<Dim> out;
  for (int64_t p : perm) {
    auto i = index_of(p, x.dims.size());
    if (!i) return InvalidArgument(c.node().describe(), ": perm entry ", p, " out of range");
    out.push_back(x.dims[*i]);
  }
  c.set_output(0, x.dtype, std::move(out));
  return Status::OK();
}

std::optional<std::vector<int64_t>> static_input(const InferContext& c, int i) {
  const auto& v = c.input_values(i);
  if (!v || !all_static(*v)) return std::nullopt;
  return static_values(*v);
}

Status squeeze_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<bool> drop(x.dims.size(), false);
  if (c.has_input(1)) {
    auto axes = static_input(c, 1);
    if (!axes) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
    for (int64_t a : *axes) {
      auto i = index_of(a, x.dims.size());
      if (!i) return InvalidArgument(c.node().describe(), ": axis ", a, " out of range for ", x.to_string());
      if (x.dims[*i].is_static() && x.dims[*i].value != 1)
        return InvalidArgument(c.node().describe(), ": cannot squeeze dim ", a, " of ", x.to_string());
      drop[*i] = true;
    }
  } else {
    for (size_t d = 0; d < x.dims.size(); ++d) {
      if (!x.dims[d].is_static()) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
      drop[d] = x.dims[d].value == 1;
    }
  }
  std::vector<Dim> out;
  for (size_t d = 0; d < x.dims.size(); ++d)
    if (!drop[d]) out.push_back(x.dims[d]);
  c.set_output(0, x.dtype, std::move(out));
  if (c.input_values(0)) c.set_output_values(0, *c.input_values(0));
  return Status::OK();
}

Status unsqueeze_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  auto axes = static_input(c, 1);
  if (!known(x) || !axes) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  const size_t rank = x.dims.size() + axes->size();
  std::vector<bool> inserted(rank, false);
  for (int64_t a : *axes) {
    auto i = index_of(a, rank);
    if (!i || inserted[*i]) return InvalidArgument(c.node().describe(), ": bad axis ", a, " for ", x.to_string());
    inserted[*i] = true;
  }
  std::vector<Dim> out;
  size_t src = 0;
  for (size_t d = 0; d < rank; ++d) out.push_back(inserted[d] ? Dim::of(1) : x.dims[src++]);
  c.set_output(0, x.dtype, std::move(out));
  if (c.input_values(0)) c.set_output_values(0, *c.input_values(0));
  return Status::OK();
}

Status concat_rule(InferContext& c) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, c.node().attrs.get_int("axis"));
  const ValueType& first = c.input(0);
  if (!known(first)) { c.set_output_rank_unknown(0, first.dtype); return Status::OK(); }
  auto axis = index_of(axis_attr, first.dims.size());
  if (!axis) return InvalidArgument(c.node().describe(), ": axis ", axis_attr, " out of range for ", first.to_string());
  std::vector<Dim> out = first.dims;
  DimValues values;
  bool track = true;
  for (int i = 0; i < c.num_inputs(); ++i) {
    const ValueType& t = c.input(i);
    if (!known(t) || t.dims.size() != first.dims.size()) { c.set_output_rank_unknown(0, first.dtype); return Status::OK(); }
    for (size_t d = 0; d < out.size(); ++d) {
      if (d == *axis) continue;
      if (out[d].is_static() && t.dims[d].is_static() && out[d].value != t.dims[d].value)
        return InvalidArgument(c.node().describe(), ": input ", i, " is ", t.to_string(), ", expected ",
                               dims_to_string(out), " outside axis ", *axis);
      if (!out[d].is_static() && t.dims[d].is_static()) out[d] = t.dims[d];
    }
    track = track && c.input_values(i).has_value();
    if (track) values.insert(values.end(), c.input_values(i)->begin(), c.input_values(i)->end());
  }
  // The axis length is the sum of the inputs' lengths: static when all are.
  int64_t sum = 0;
  bool all = true;
  for (int i = 0; i < c.num_inputs(); ++i) {
    const Dim& d = c.input(i).dims[*axis];
    all = all && d.is_static();
    if (d.is_static()) sum += d.value;
  }
  out[*axis] = all ? Dim::of(sum) : (c.num_inputs() == 1 ? c.input(0).dims[*axis] : unknown_dim());
  c.set_output(0, first.dtype, std::move(out));
  if (track && first.dims.size() <= 1) c.set_output_values(0, std::move(values));
  return Status::OK();
}

Status split_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, c.node().attrs.get_int("axis", 0));
  if (!known(x)) {
    for (int o = 0; o < c.num_outputs(); ++o) c.set_output_rank_unknown(o, x.dtype);
    return Status::OK();
  }
  auto axis = index_of(axis_attr, x.dims.size());
  if (!axis) return InvalidArgument(c.node().describe(), ": axis ", axis_attr, " out of range for ", x.to_string());
  std::optional<std::vector<int64_t>> sizes;
  if (c.has_input(1)) sizes = static_input(c, 1);
  else if (x.dims[*axis].is_static()) {
    const int64_t n = c.num_outputs(), len = x.dims[*axis].value, chunk = (len + n - 1) / n;
    sizes = std::vector<int64_t>();
    for (int64_t o = 0; o < n; ++o) sizes->push_back(std::max<int64_t>(0, std::min(chunk, len - o * chunk)));
  }
  for (int o = 0; o < c.num_outputs(); ++o) {
    std::vector<Dim> out = x.dims;
    out[*axis] = sizes && o < static_cast<int>(sizes->size()) ? Dim::of((*sizes)[static_cast<size_t>(o)]) : unknown_dim();
    c.set_output(o, x.dtype, std::move(out));
  }
  return Status::OK();
}

// Clamped Slice bounds on one axis of static length `dim`; returns the length.
int64_t slice_length(int64_t dim, int64_t b, int64_t e, int64_t s, int64_t* begin) {
  if (b < 0) b = b < -dim ? 0 : b + dim;
  if (e < 0) e = e < -dim ? (s > 0 ? 0 : -1) : e + dim;
  if (s > 0) { b = std::clamp<int64_t>(b, 0, dim); e = std::clamp<int64_t>(e, 0, dim); }
  else { b = std::clamp<int64_t>(b, 0, dim - 1); e = std::clamp<int64_t>(e, -1, dim - 1); }
  *begin = b;
  return std::max<int64_t>(0, s > 0 ? (e - b + s - 1) / s : (b - e - s - 1) / (-s));
}

Status slice_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  auto starts = static_input(c, 1), ends = static_input(c, 2);
  std::optional<std::vector<int64_t>> axes, steps;
  if (c.has_input(3)) axes = static_input(c, 3);
  if (c.has_input(4)) steps = static_input(c, 4);
  if (!known(x)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<Dim> out = x.dims;
  // x[0:n] with a symbolic n (torch's position_ids[:, :seq]) has length n, assuming n
  // is within the axis as exporters use it (a larger n fails the model's next op anyway).
  const auto& end_values = c.input_values(2);
  if (starts && !ends && end_values && end_values->size() == starts->size() && (!c.has_input(3) || axes) &&
      (!c.has_input(4) || steps)) {
    for (Dim& d : out) d = unknown_dim();
    for (size_t i = 0; i < starts->size(); ++i) {
      auto a = index_of(axes ? (*axes)[i] : static_cast<int64_t>(i), out.size());
      if (!a) return InvalidArgument(c.node().describe(), ": slice axis out of range for ", x.to_string());
      const SymInt& e = (*end_values)[i];
      if ((*starts)[i] == 0 && (!steps || (*steps)[i] == 1) && !e.known && !e.symbol.empty()) out[*a] = Dim::sym(e.symbol);
    }
    for (size_t d = 0; d < out.size(); ++d) {
      bool sliced = false;
      for (size_t i = 0; i < starts->size(); ++i) {
        auto a = index_of(axes ? (*axes)[i] : static_cast<int64_t>(i), out.size());
        sliced = sliced || (a && *a == d);
      }
      if (!sliced) out[d] = x.dims[d];
    }
    c.set_output(0, x.dtype, std::move(out));
    return Status::OK();
  }
  if (!starts || !ends || (c.has_input(3) && !axes) || (c.has_input(4) && !steps) || starts->size() != ends->size()) {
    for (Dim& d : out) d = unknown_dim();  // rank survives
    c.set_output(0, x.dtype, std::move(out));
    return Status::OK();
  }
  if (!axes) { axes = std::vector<int64_t>(); for (size_t i = 0; i < starts->size(); ++i) axes->push_back(static_cast<int64_t>(i)); }
  if (!steps) steps = std::vector<int64_t>(starts->size(), 1);
  if (axes->size() != starts->size() || steps->size() != starts->size())
    return InvalidArgument(c.node().describe(), ": starts, ends, axes and steps must have equal lengths");
  const auto& values = c.input_values(0);
  DimValues vals = values ? *values : DimValues();
  for (size_t i = 0; i < starts->size(); ++i) {
    auto a = index_of((*axes)[i], out.size());
    if (!a) return InvalidArgument(c.node().describe(), ": axis ", (*axes)[i], " out of range for ", x.to_string());
    const int64_t s = (*steps)[i];
    if (s == 0) return InvalidArgument(c.node().describe(), ": step is zero");
    const Dim& d = x.dims[*a];
    if (d.is_static()) {
      int64_t begin = 0;
      const int64_t len = slice_length(d.value, (*starts)[i], (*ends)[i], s, &begin);
      out[*a] = Dim::of(len);
      if (values && x.dims.size() == 1 && static_cast<int64_t>(values->size()) == d.value) {
        DimValues picked;
        for (int64_t j = 0; j < len; ++j) picked.push_back((*values)[static_cast<size_t>(begin + j * s)]);
        vals = std::move(picked);
      }
    } else {
      // The whole axis of a symbolic dim keeps its symbol.
      const bool whole = s == 1 && (*starts)[i] == 0 && (*ends)[i] >= std::numeric_limits<int32_t>::max();
      out[*a] = whole ? d : unknown_dim();
    }
  }
  c.set_output(0, x.dtype, std::move(out));
  if (values && x.dims.size() == 1) c.set_output_values(0, std::move(vals));
  return Status::OK();
}

Status gather_rule(InferContext& c) {
  const ValueType &data = c.input(0), &idx = c.input(1);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, c.node().attrs.get_int("axis", 0));
  if (!known(data) || !known(idx)) { c.set_output_rank_unknown(0, data.dtype); return Status::OK(); }
  auto axis = index_of(axis_attr, data.dims.size());
  if (!axis) return InvalidArgument(c.node().describe(), ": axis ", axis_attr, " out of range for ", data.to_string());
  std::vector<Dim> out(data.dims.begin(), data.dims.begin() + static_cast<int64_t>(*axis));
  out.insert(out.end(), idx.dims.begin(), idx.dims.end());
  out.insert(out.end(), data.dims.begin() + static_cast<int64_t>(*axis) + 1, data.dims.end());
  c.set_output(0, data.dtype, std::move(out));
  // Picking dims out of a tracked shape value.
  auto indices = static_input(c, 1);
  if (c.input_values(0) && data.dims.size() == 1 && indices && idx.dims.size() <= 1) {
    DimValues picked;
    for (int64_t i : *indices) {
      auto at = index_of(i, c.input_values(0)->size());
      if (!at) return OutOfRange(c.node().describe(), ": index ", i, " out of range for ", data.to_string());
      picked.push_back((*c.input_values(0))[*at]);
    }
    c.set_output_values(0, std::move(picked));
  }
  return Status::OK();
}

Status expand_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  const auto& target = c.input_values(1);
  const ValueType& tt = c.input(1);
  if (known(x) && !target && known(tt) && tt.dims.size() == 1 && tt.dims[0].is_static()) {
    // Values unknown, length known: the rank is.
    const size_t rank = std::max(x.dims.size(), static_cast<size_t>(tt.dims[0].value));
    c.set_output(0, x.dtype, std::vector<Dim>(rank, unknown_dim()));
    return Status::OK();
  }
  if (!known(x) || !target) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  SPARSERT_ASSIGN_OR_RETURN(std::vector<Dim> out, broadcast_dims(x.dims, to_dims(*target), c.node()));
  c.set_output(0, x.dtype, std::move(out));
  return Status::OK();
}

Status tile_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  auto reps = static_input(c, 1);
  if (!known(x)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<Dim> out = x.dims;
  for (size_t d = 0; d < out.size(); ++d) {
    if (!reps || reps->size() != out.size()) { out[d] = unknown_dim(); continue; }
    const int64_t r = (*reps)[d];
    if (r == 1) continue;
    out[d] = out[d].is_static() ? Dim::of(out[d].value * r) : unknown_dim();
  }
  c.set_output(0, x.dtype, std::move(out));
  return Status::OK();
}

Status constant_of_shape_rule(InferContext& c) {
  DType dt = DType::kFloat32;
  if (c.node().attrs.has("value")) {
    SPARSERT_ASSIGN_OR_RETURN(Tensor v, c.node().attrs.get_tensor("value"));
    dt = v.dtype();
  }
  const auto& target = c.input_values(0);
  if (target && all_static(*target) && (dt == DType::kInt64 || dt == DType::kInt32)) {
    // A small integer fill is a shape piece (torch writes ConstantOfShape -> Mul -> Equal -> Where for expand).
    int64_t n = 1;
    for (const SymInt& d : *target) n *= std::max<int64_t>(d.value, 0);
    SPARSERT_ASSIGN_OR_RETURN(Tensor v, c.node().attrs.get_tensor("value"));
    if (target->size() <= 1 && n <= 64 && v.num_elements() == 1)
      c.set_output_values(0, DimValues(static_cast<size_t>(n), SymInt::of(v.element_as_int64(0))));
  }
  if (target) c.set_output(0, dt, to_dims(*target));
  else if (known(c.input(0)) && c.input(0).dims.size() == 1 && c.input(0).dims[0].is_static())
    c.set_output(0, dt, std::vector<Dim>(static_cast<size_t>(c.input(0).dims[0].value), unknown_dim()));
  else c.set_output_rank_unknown(0, dt);
  return Status::OK();
}

Status range_rule(InferContext& c) {
  c.set_output(0, c.input(0).dtype, {unknown_dim()});
  return Status::OK();
}

Status pad_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  auto pads = static_input(c, 1);
  std::optional<std::vector<int64_t>> axes;
  if (c.has_input(3)) axes = static_input(c, 3);
  if (!known(x)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<Dim> out = x.dims;
  if (!pads || (c.has_input(3) && !axes)) {
    for (Dim& d : out) d = unknown_dim();
    c.set_output(0, x.dtype, std::move(out));
    return Status::OK();
  }
  if (!axes) { axes = std::vector<int64_t>(); for (size_t d = 0; d < out.size(); ++d) axes->push_back(static_cast<int64_t>(d)); }
  if (pads->size() != 2 * axes->size())
    return InvalidArgument(c.node().describe(), ": pads has ", pads->size(), " values for ", axes->size(), " axes");
  for (size_t i = 0; i < axes->size(); ++i) {
    auto a = index_of((*axes)[i], out.size());
    if (!a) return InvalidArgument(c.node().describe(), ": axis ", (*axes)[i], " out of range");
    const int64_t add = (*pads)[i] + (*pads)[i + axes->size()];
    if (add != 0) out[*a] = out[*a].is_static() ? Dim::of(out[*a].value + add) : unknown_dim();
  }
  c.set_output(0, x.dtype, std::move(out));
  return Status::OK();
}

Status resize_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<Dim> out(x.dims.size(), unknown_dim());
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, c.node().attrs.get_ints("axes", std::vector<int64_t>{}));
  SPARSERT_ASSIGN_OR_RETURN(std::string policy, c.node().attrs.get_string("keep_aspect_ratio_policy", "stretch"));
  auto sizes = c.has_input(3) ? static_input(c, 3) : std::nullopt;
  const Tensor* scales = c.constant(2);
  if (axes.empty())
    for (size_t d = 0; d < x.dims.size(); ++d) axes.push_back(static_cast<int64_t>(d));
  std::vector<bool> touched(x.dims.size(), false);
  for (int64_t a : axes)
    if (auto i = index_of(a, x.dims.size())) touched[*i] = true;
  for (size_t d = 0; d < x.dims.size(); ++d)
    if (!touched[d]) out[d] = x.dims[d];
  std::string coord;
  SPARSERT_ASSIGN_OR_RETURN(coord, c.node().attrs.get_string("coordinate_transformation_mode", "half_pixel"));
  if (sizes && sizes->size() == axes.size() && policy == "stretch") {
    for (size_t i = 0; i < axes.size(); ++i)
      if (auto a = index_of(axes[i], x.dims.size())) out[*a] = Dim::of((*sizes)[i]);
  } else if (scales && scales->dtype() == DType::kFloat32 && scales->num_elements() == static_cast<int64_t>(axes.size()) &&
             coord != "tf_crop_and_resize") {
    for (size_t i = 0; i < axes.size(); ++i) {
      auto a = index_of(axes[i], x.dims.size());
      if (a && x.dims[*a].is_static())
        out[*a] = Dim::of(static_cast<int64_t>(static_cast<double>(x.dims[*a].value) * scales->data<float>()[i]));
    }
  }
  c.set_output(0, x.dtype, std::move(out));
  return Status::OK();
}

Status topk_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis_attr, c.node().attrs.get_int("axis", -1));
  if (!known(x)) {
    c.set_output_rank_unknown(0, x.dtype);
    c.set_output_rank_unknown(1, DType::kInt64);
    return Status::OK();
  }
  auto axis = index_of(axis_attr, x.dims.size());
  if (!axis) return InvalidArgument(c.node().describe(), ": axis ", axis_attr, " out of range for ", x.to_string());
  auto k = static_input(c, 1);
  std::vector<Dim> out = x.dims;
  out[*axis] = k && k->size() == 1 ? Dim::of((*k)[0]) : unknown_dim();
  c.set_output(0, x.dtype, out);
  c.set_output(1, DType::kInt64, out);
  return Status::OK();
}

Status gather_elements_rule(InferContext& c) {
  const ValueType& idx = c.input(1);
  if (known(idx)) c.set_output(0, c.input(0).dtype, idx.dims);
  else c.set_output_rank_unknown(0, c.input(0).dtype);
  return Status::OK();
}

// Add/Sub/Mul/Div: broadcast types, plus the values of tracked shape arithmetic
// (e.g. seq_len - 1, hidden / heads) when both sides are static.
ShapeRule arith_rule(char op) {
  return [op](InferContext& c) -> Status {
    SPARSERT_RETURN_IF_ERROR(broadcast(0, -1, std::nullopt, 0)(c));
    const auto &a = c.input_values(0), &b = c.input_values(1);
    if (!a || !b || c.num_inputs() != 2) return Status::OK();
    const size_t n = std::max(a->size(), b->size());
    if ((a->size() != n && a->size() != 1) || (b->size() != n && b->size() != 1)) return Status::OK();
    DimValues out;
    for (size_t i = 0; i < n; ++i) {
      const SymInt& x = (*a)[a->size() == 1 ? 0 : i];
      const SymInt& y = (*b)[b->size() == 1 ? 0 : i];
      if (!x.known || !y.known) {
        // x * 1, x + 0 keep x; anything else with a symbol is unknown.
        if (y.known && ((op == '*' && y.value == 1) || (op == '+' && y.value == 0) ||
                              (op == '-' && y.value == 0) || (op == '/' && y.value == 1)))
          out.push_back(x);
        else out.push_back(SymInt{0, "", false});
        continue;
      }
      int64_t v = 0;
      switch (op) {
        case '+': v = x.value + y.value; break;
        case '-': v = x.value - y.value; break;
        case '*': v = x.value * y.value; break;
        default:
          if (y.value == 0) return Status::OK();
          v = x.value / y.value;
      }
      out.push_back(SymInt::of(v));
    }
    c.set_output_values(0, std::move(out));
    return Status::OK();
  };
}

// Element-wise over two tracked values (one may be a single element).
template <typename F>
std::optional<DimValues> zip_values(const std::optional<DimValues>& a, const std::optional<DimValues>& b, F&& f) {
  if (!a || !b) return std::nullopt;
  const size_t n = std::max(a->size(), b->size());
  if ((a->size() != n && a->size() != 1) || (b->size() != n && b->size() != 1)) return std::nullopt;
  DimValues out;
  for (size_t i = 0; i < n; ++i) out.push_back(f((*a)[a->size() == 1 ? 0 : i], (*b)[b->size() == 1 ? 0 : i]));
  return out;
}

const SymInt kUnknownValue{0, "", false};

// Equal on shape values: a symbolic dim is never negative, so it differs from
// -1; equal symbols are equal. (Results are 0/1.)
Status equal_rule(InferContext& c) {
  SPARSERT_RETURN_IF_ERROR(broadcast(0, 2, DType::kBool, 0)(c));
  auto v = zip_values(c.input_values(0), c.input_values(1), [](const SymInt& x, const SymInt& y) {
    if (x.known && y.known) return SymInt::of(x.value == y.value);
    if (!x.known && !y.known) return x.symbol.empty() || x.symbol != y.symbol ? kUnknownValue : SymInt::of(1);
    const SymInt& k = x.known ? x : y;
    return k.value < 0 ? SymInt::of(0) : kUnknownValue;
  });
  if (v) c.set_output_values(0, std::move(*v));
  return Status::OK();
}

Status where_rule(InferContext& c) {
  SPARSERT_RETURN_IF_ERROR(broadcast(0, 3, std::nullopt, 1)(c));
  const auto &cond = c.input_values(0), &a = c.input_values(1), &b = c.input_values(2);
  if (!cond || !a || !b || !all_static(*cond)) return Status::OK();
  const size_t n = std::max({cond->size(), a->size(), b->size()});
  for (const DimValues* v : {&*cond, &*a, &*b})
    if (v->size() != n && v->size() != 1) return Status::OK();
  auto at = [](const DimValues& v, size_t i) -> const SymInt& { return v[v.size() == 1 ? 0 : i]; };
  DimValues out;
  for (size_t i = 0; i < n; ++i) out.push_back(at(*cond, i).value != 0 ? at(*a, i) : at(*b, i));
  c.set_output_values(0, std::move(out));
  return Status::OK();
}

}  // namespace

void register_tensor_shape_rules(OpRegistry& r) {
  auto set = [&r](const char* op, ShapeRule rule) { r.set_shape_rule("", op, std::move(rule)); };
  set("Shape", shape_rule);
  set("Reshape", reshape_rule);
  set("Flatten", flatten_rule);
  set("Transpose", transpose_rule);
  set("Squeeze", squeeze_rule);
  set("Unsqueeze", unsqueeze_rule);
  set("Concat", concat_rule);
  set("Split", split_rule);
  set("Slice", slice_rule);
  set("Gather", gather_rule);
  set("GatherElements", gather_elements_rule);
  set("Expand", expand_rule);
  set("Tile", tile_rule);
  set("ConstantOfShape", constant_of_shape_rule);
  set("Range", range_rule);
  set("Pad", pad_rule);
  set("Resize", resize_rule);
  set("TopK", topk_rule);
  set("Add", arith_rule('+'));
  set("Sub", arith_rule('-'));
  set("Mul", arith_rule('*'));
  set("Div", arith_rule('/'));
  set("Equal", equal_rule);
  set("Where", where_rule);
}

}  // namespace sparsert
