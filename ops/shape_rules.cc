// Shape rules, part 1: the InferContext, element-wise, matmul, convolution,
// pooling, reduction, normalization and quantization ops. Data-movement and
// shape-manipulation ops (with the symbolic value tracking) are in
// ops/shape_rules_tensor.cc.
#include "ops/shape_rules.h"

#include "ops/conv_window.h"
#include "ops/linear.h"
#include "ops/registry.h"
#include "ops/shape_rules_util.h"

namespace sparsert {

const ValueType& InferContext::input(int i) const {
  static const ValueType kNone;
  return has_input(i) ? graph_.value(node_.inputs[static_cast<size_t>(i)]).type : kNone;
}

const Tensor* InferContext::constant(int i) const {
  if (!has_input(i)) return nullptr;
  const auto& c = graph_.value(node_.inputs[static_cast<size_t>(i)]).constant;
  return c ? &*c : nullptr;
}

const std::optional<DimValues>& InferContext::input_values(int i) const {
  static const std::optional<DimValues> kNone;
  return i < static_cast<int>(input_values_.size()) ? input_values_[static_cast<size_t>(i)] : kNone;
}

void InferContext::set_output(int i, DType dtype, std::vector<Dim> dims) {
  if (i >= num_outputs()) return;
  ValueType& t = outputs_[static_cast<size_t>(i)];
  t.dtype = dtype;
  t.has_shape = true;
  t.dims = std::move(dims);
}

void InferContext::set_output_rank_unknown(int i, DType dtype) {
  if (i >= num_outputs()) return;
  outputs_[static_cast<size_t>(i)] = ValueType{dtype, false, {}};
}

StatusOr<std::vector<Dim>> broadcast_dims(const std::vector<Dim>& a, const std::vector<Dim>& b, const Node& node) {
  const size_t rank = std::max(a.size(), b.size());
  std::vector<Dim> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const Dim* x = i < rank - a.size() ? nullptr : &a[i - (rank - a.size())];
    const Dim* y = i < rank - b.size() ? nullptr : &b[i - (rank - b.size())];
    if (!x || (x->is_static() && x->value == 1)) { out[i] = y ? *y : Dim::of(1); continue; }
    if (!y || (y->is_static() && y->value == 1)) { out[i] = *x; continue; }
    if (x->is_static() && y->is_static()) {
      if (x->value != y->value)
        return InvalidArgument(node.describe(), ": shapes ", dims_to_string(a), " and ", dims_to_string(b),
                               " cannot be broadcast");
      out[i] = *x;
    } else if (x->is_static()) {
      out[i] = *x;  // the symbol must equal it (or be 1, which broadcasts to it)
    } else if (y->is_static()) {
      out[i] = *y;
    } else {
      out[i] = x->symbol == y->symbol ? *x : Dim::sym("");
    }
  }
  return out;
}

namespace shape_rules {

bool known(const ValueType& t) { return t.has_shape; }

Dim unknown_dim() { return Dim::sym(""); }

ShapeRule same_as_input(int i) {
  return [i](InferContext& c) -> Status {
    for (int o = 0; o < c.num_outputs(); ++o) {
      if (known(c.input(i))) c.set_output(o, c.input(i).dtype, c.input(i).dims);
      else c.set_output_rank_unknown(o, c.input(i).dtype);
    }
    return Status::OK();
  };
}

ShapeRule broadcast(int first, int count, std::optional<DType> dtype, int dtype_input) {
  return [=](InferContext& c) -> Status {
    const DType dt = dtype ? *dtype : c.input(dtype_input).dtype;
    std::vector<Dim> dims;
    const int last = count < 0 ? c.num_inputs() : first + count;
    for (int i = first; i < last; ++i) {
      if (!c.has_input(i)) continue;
      if (!known(c.input(i))) { c.set_output_rank_unknown(0, dt); return Status::OK(); }
      SPARSERT_ASSIGN_OR_RETURN(dims, broadcast_dims(dims, c.input(i).dims, c.node()));
    }
    c.set_output(0, dt, std::move(dims));
    return Status::OK();
  };
}

// Output dims of a convolution or pooling window: spatial sizes when the input's
// spatial dims are static, else unknown.
std::vector<Dim> window_dims(const InferContext& c, const ValueType& x, Dim channels, const std::vector<int64_t>& kernel,
                             bool ceil_mode, Status& error) {
  std::vector<Dim> out = {x.dims[0], channels};
  Shape probe = {1, 1};
  bool all_static = true;
  for (size_t d = 2; d < x.dims.size(); ++d) {
    all_static &= x.dims[d].is_static();
    probe.push_back(x.dims[d].is_static() ? x.dims[d].value : 1);
  }
  if (all_static && !kernel.empty()) {
    auto w = make_window(c.node(), probe, kernel, ceil_mode);
    if (!w.ok()) { error = w.status(); return out; }
    Shape s = window_output_shape(probe, 1, *w);
    for (size_t d = 2; d < s.size(); ++d) out.push_back(Dim::of(s[d]));
  } else {
    for (size_t d = 2; d < x.dims.size(); ++d) out.push_back(unknown_dim());
  }
  return out;
}

}  // namespace shape_rules

namespace {
using namespace shape_rules;

// MatMul's numpy semantics over symbolic dims.
Status matmul_like(InferContext& c, int ia, int ib, DType dt) {
  const ValueType &a = c.input(ia), &b = c.input(ib);
  if (!known(a) || !known(b) || a.dims.empty() || b.dims.empty()) { c.set_output_rank_unknown(0, dt); return Status::OK(); }
  std::vector<Dim> da = a.dims, db = b.dims;
  const bool a_vec = da.size() == 1, b_vec = db.size() == 1;
  if (a_vec) da.insert(da.begin(), Dim::of(1));
  if (b_vec) db.push_back(Dim::of(1));
  const Dim &k1 = da.back(), &k2 = db[db.size() - 2];
  if (k1.is_static() && k2.is_static() && k1.value != k2.value)
    return InvalidArgument(c.node().describe(), ": inner dimensions differ: ", a.to_string(), " x ", b.to_string());
  SPARSERT_ASSIGN_OR_RETURN(std::vector<Dim> out,
                            broadcast_dims(std::vector<Dim>(da.begin(), da.end() - 2),
                                           std::vector<Dim>(db.begin(), db.end() - 2), c.node()));
  if (!a_vec) out.push_back(da[da.size() - 2]);
  if (!b_vec) out.push_back(db.back());
  c.set_output(0, dt, std::move(out));
  return Status::OK();
}

Status gemm_rule(InferContext& c) {
  const ValueType &a = c.input(0), &b = c.input(1);
  SPARSERT_ASSIGN_OR_RETURN(int64_t ta, c.node().attrs.get_int("transA", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t tb, c.node().attrs.get_int("transB", 0));
  if (!known(a) || !known(b) || a.dims.size() != 2 || b.dims.size() != 2) {
    c.set_output(0, a.dtype, {unknown_dim(), unknown_dim()});
    return Status::OK();
  }
  c.set_output(0, a.dtype, {a.dims[ta ? 1 : 0], b.dims[tb ? 0 : 1]});
  return Status::OK();
}

Status matmul_nbits_rule(InferContext& c) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t n, c.node().attrs.get_int("N"));
  const ValueType& a = c.input(0);
  if (!known(a) || a.dims.empty()) { c.set_output_rank_unknown(0, a.dtype); return Status::OK(); }
  std::vector<Dim> out(a.dims.begin(), a.dims.end() - 1);
  out.push_back(Dim::of(n));
  c.set_output(0, a.dtype, std::move(out));
  return Status::OK();
}

ShapeRule conv_rule(int ix, int iw, std::optional<DType> dtype, int dtype_input) {
  return [=](InferContext& c) -> Status {
    const ValueType &x = c.input(ix), &w = c.input(iw);
    const DType dt = dtype ? *dtype : (c.has_input(dtype_input) ? c.input(dtype_input).dtype : DType::kUInt8);
    if (!known(x) || !known(w) || x.dims.size() < 3 || w.dims.size() != x.dims.size()) {
      c.set_output_rank_unknown(0, dt);
      return Status::OK();
    }
    std::vector<int64_t> kernel;
    for (size_t d = 2; d < w.dims.size(); ++d) {
      if (!w.dims[d].is_static()) { kernel.clear(); break; }
      kernel.push_back(w.dims[d].value);
    }
    Status error;
    std::vector<Dim> out = window_dims(c, x, w.dims[0], kernel, false, error);
    SPARSERT_RETURN_IF_ERROR(error);
    c.set_output(0, dt, std::move(out));
    return Status::OK();
  };
}

Status conv_transpose_rule(InferContext& c) {
  const ValueType &x = c.input(0), &w = c.input(1);
  if (!known(x) || !known(w) || x.dims.size() < 3 || w.dims.size() != x.dims.size() || !w.dims[1].is_static()) {
    c.set_output_rank_unknown(0, x.dtype);
    return Status::OK();
  }
  const size_t nsp = x.dims.size() - 2;
  SPARSERT_ASSIGN_OR_RETURN(int64_t group, c.node().attrs.get_int("group", 1));
  auto attrs = conv_transpose_attrs(c.node(), nsp);
  std::vector<Dim> out = {x.dims[0], Dim::of(w.dims[1].value * group)};
  for (size_t i = 0; i < nsp; ++i) {
    const Dim &in = x.dims[2 + i], &k = w.dims[2 + i];
    // Malformed attributes are the kernel's to report, with the inputs in view.
    if (!attrs.ok()) out.push_back(unknown_dim());
    else if (!attrs->output_shape.empty()) out.push_back(Dim::of(attrs->output_shape[i]));
    else if (in.is_static() && k.is_static()) out.push_back(Dim::of(conv_transpose_extent(*attrs, i, in.value, k.value).out));
    else out.push_back(unknown_dim());
  }
  c.set_output(0, x.dtype, std::move(out));
  return Status::OK();
}

Status pool_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x) || x.dims.size() < 3) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  SPARSERT_ASSIGN_OR_RETURN(std::vector<int64_t> kernel, c.node().attrs.get_ints("kernel_shape"));
  SPARSERT_ASSIGN_OR_RETURN(int64_t ceil_mode, c.node().attrs.get_int("ceil_mode", 0));
  Status error;
  std::vector<Dim> out = window_dims(c, x, x.dims[1], kernel, ceil_mode != 0, error);
  SPARSERT_RETURN_IF_ERROR(error);
  c.set_output(0, x.dtype, out);
  if (c.num_outputs() > 1) c.set_output(1, DType::kInt64, out);
  return Status::OK();
}

Status global_pool_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x) || x.dims.size() < 3) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<Dim> out = {x.dims[0], x.dims[1]};
  out.resize(x.dims.size(), Dim::of(1));
  c.set_output(0, x.dtype, std::move(out));
  return Status::OK();
}

// Reduced dims for the given axes (all when empty and !noop).
std::vector<Dim> reduce_dims(const std::vector<Dim>& in, std::vector<int64_t> axes, bool keepdims) {
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<bool> reduced(in.size(), axes.empty());
  for (int64_t a : axes) {
    if (a < 0) a += rank;
    if (a >= 0 && a < rank) reduced[static_cast<size_t>(a)] = true;
  }
  std::vector<Dim> out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (!reduced[d]) out.push_back(in[d]);
    else if (keepdims) out.push_back(Dim::of(1));
  }
  return out;
}

Status reduce_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t keepdims, c.node().attrs.get_int("keepdims", 1));
  SPARSERT_ASSIGN_OR_RETURN(int64_t noop, c.node().attrs.get_int("noop_with_empty_axes", 0));
  if (!known(x)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
  std::vector<int64_t> axes;
  if (c.has_input(1)) {
    const auto& v = c.input_values(1);
    if (!v || !all_static(*v)) { c.set_output_rank_unknown(0, x.dtype); return Status::OK(); }
    axes = static_values(*v);
  }
  if (axes.empty() && noop) { c.set_output(0, x.dtype, x.dims); return Status::OK(); }
  c.set_output(0, x.dtype, reduce_dims(x.dims, axes, keepdims != 0));
  return Status::OK();
}

Status arg_reduce_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, c.node().attrs.get_int("axis", 0));
  SPARSERT_ASSIGN_OR_RETURN(int64_t keepdims, c.node().attrs.get_int("keepdims", 1));
  if (!known(x)) { c.set_output_rank_unknown(0, DType::kInt64); return Status::OK(); }
  c.set_output(0, DType::kInt64, reduce_dims(x.dims, {axis}, keepdims != 0));
  return Status::OK();
}

Status layer_norm_rule(InferContext& c) {
  const ValueType& x = c.input(0);
  if (!known(x)) {
    for (int o = 0; o < c.num_outputs(); ++o) c.set_output_rank_unknown(o, x.dtype);
    return Status::OK();
  }
  c.set_output(0, x.dtype, x.dims);
  SPARSERT_ASSIGN_OR_RETURN(int64_t axis, c.node().attrs.get_int("axis", -1));
  if (axis < 0) axis += static_cast<int64_t>(x.dims.size());
  std::vector<Dim> stat = x.dims;
  for (size_t d = static_cast<size_t>(std::max<int64_t>(axis, 0)); d < stat.size(); ++d) stat[d] = Dim::of(1);
  for (int o = 1; o < c.num_outputs(); ++o) c.set_output(o, DType::kFloat32, stat);
  return Status::OK();
}

Status dropout_rule(InferContext& c) {
  SPARSERT_RETURN_IF_ERROR(same_as_input(0)(c));
  if (c.num_outputs() > 1 && c.output(1).has_shape) c.set_output(1, DType::kBool, c.output(1).dims);
  else if (c.num_outputs() > 1) c.set_output_rank_unknown(1, DType::kBool);
  return Status::OK();
}

Status cast_rule(InferContext& c) {
  SPARSERT_ASSIGN_OR_RETURN(int64_t to, c.node().attrs.get_int("to"));
  SPARSERT_RETURN_IF_ERROR(same_as_input(0)(c));
  c.output(0).dtype = static_cast<DType>(to);
  // Casts between integer types keep tracked shape values (torch exports Cast in shape chains).
  if (c.input_values(0) && (to == static_cast<int64_t>(DType::kInt64) || to == static_cast<int64_t>(DType::kInt32)))
    c.set_output_values(0, *c.input_values(0));
  return Status::OK();
}

ShapeRule same_shape_as_dtype(int shape_input, DType dt) {
  return [=](InferContext& c) -> Status {
    SPARSERT_RETURN_IF_ERROR(same_as_input(shape_input)(c));
    c.output(0).dtype = dt;
    return Status::OK();
  };
}

Status quantize_rule(InferContext& c) {
  SPARSERT_RETURN_IF_ERROR(same_as_input(0)(c));
  c.output(0).dtype = c.has_input(2) ? c.input(2).dtype : DType::kUInt8;
  return Status::OK();
}

Status dynamic_quantize_rule(InferContext& c) {
  SPARSERT_RETURN_IF_ERROR(same_as_input(0)(c));
  c.output(0).dtype = DType::kUInt8;
  c.set_output(1, DType::kFloat32, {});
  c.set_output(2, DType::kUInt8, {});
  return Status::OK();
}

}  // namespace

void register_shape_rules(OpRegistry& r) {
  auto set = [&r](std::initializer_list<const char*> ops, const ShapeRule& rule, const char* domain = "") {
    for (const char* op : ops) r.set_shape_rule(domain, op, rule);
  };
  set({"Abs", "Ceil", "Clip", "Cos", "Elu", "Erf", "Exp", "Floor", "Gelu", "HardSigmoid", "HardSwish", "Identity",
       "LeakyRelu", "Log", "LogSoftmax", "Neg", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin",
       "Softmax", "Softplus", "Softsign", "Sqrt", "Tanh", "Not", "CumSum", "Trilu", "BatchNormalization"},
      same_as_input(0));
  set({"FastGelu", "Gelu"}, same_as_input(0), "com.microsoft");
  set({"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "And", "Or", "Xor"}, broadcast(0, -1, std::nullopt, 0));
  set({"Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual"}, broadcast(0, 2, DType::kBool, 0));
  set({"Where"}, broadcast(0, 3, std::nullopt, 1));
  set({"Cast"}, cast_rule);
  set({"Dropout"}, dropout_rule);
  set({"LayerNormalization"}, layer_norm_rule);
  set({"MatMul"}, [](InferContext& c) { return matmul_like(c, 0, 1, c.input(0).dtype); });
  set({"MatMulInteger"}, [](InferContext& c) { return matmul_like(c, 0, 1, DType::kInt32); });
  set({"QLinearMatMul"}, [](InferContext& c) { return matmul_like(c, 0, 3, c.input(7).dtype); });
  set({"Gemm"}, gemm_rule);
  set({"MatMulNBits"}, matmul_nbits_rule, "com.microsoft");
  set({"Conv"}, conv_rule(0, 1, std::nullopt, 0));
  set({"ConvInteger"}, conv_rule(0, 1, DType::kInt32, 0));
  set({"QLinearConv"}, conv_rule(0, 3, std::nullopt, 7));
  set({"ConvTranspose"}, conv_transpose_rule);
  set({"MaxPool", "AveragePool"}, pool_rule);
  set({"GlobalAveragePool", "GlobalMaxPool"}, global_pool_rule);
  set({"ReduceL2", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare"}, reduce_rule);
  set({"ArgMax", "ArgMin"}, arg_reduce_rule);
  set({"QuantizeLinear"}, quantize_rule);
  set({"DequantizeLinear"}, same_shape_as_dtype(0, DType::kFloat32));
  set({"QuantizeDequantize"}, same_shape_as_dtype(0, DType::kFloat32), kSparsertDomain);
  set({"DynamicQuantizeLinear"}, dynamic_quantize_rule);
  set({"DynamicQuantizeLinear"}, dynamic_quantize_rule, "com.sparsert");
  register_tensor_shape_rules(r);
}

}  // namespace sparsert
