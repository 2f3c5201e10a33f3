#include "ops/op_util.h"

#include "ops/quant_util.h"

#include <omp.h>

namespace sparsert {

const Tensor* constant_input(const Node& node, const Graph& graph, size_t i) {
  if (i >= node.inputs.size() || node.inputs[i] == kNoValue) return nullptr;
  const Value& v = graph.value(node.inputs[i]);
  return v.constant ? &*v.constant : nullptr;
}

StatusOr<double> constant_scalar_input(const Node& node, const Graph& graph, size_t i, DType dtype, const char* what) {
  const Tensor* t = constant_input(node, graph, i);
  if (!t || t->dtype() != dtype || t->num_elements() != 1)
    return Unimplemented(what, " is not a constant ", dtype_name(dtype), " scalar");
  return t->element_as_double(0);
}

StatusOr<QLinearConstants> qlinear_constants(const Node& n, const Graph& g, int64_t channels) {
  QLinearConstants q;
  SPARSERT_ASSIGN_OR_RETURN(double x_scale, constant_scalar_input(n, g, 1, DType::kFloat32, "x_scale"));
  SPARSERT_ASSIGN_OR_RETURN(double x_zp, constant_scalar_input(n, g, 2, DType::kUInt8, "x zero point"));
  SPARSERT_ASSIGN_OR_RETURN(double y_scale, constant_scalar_input(n, g, 6, DType::kFloat32, "y_scale"));
  SPARSERT_ASSIGN_OR_RETURN(double y_zp, constant_scalar_input(n, g, 7, DType::kUInt8, "y zero point (uint8 y only)"));
  const Tensor* w_scale = constant_input(n, g, 4);
  if (!w_scale || w_scale->dtype() != DType::kFloat32 ||
      (w_scale->num_elements() != 1 && w_scale->num_elements() != channels))
    return Unimplemented("w_scale is not a constant float of 1 or ", channels, " values");
  for (int64_t m = 0; m < channels; ++m)
    q.mult.push_back(requant_multiplier(static_cast<float>(x_scale),
                                        w_scale->data<float>()[w_scale->num_elements() == 1 ? 0 : m],
                                        static_cast<float>(y_scale)));
  q.x_zero_point = static_cast<int32_t>(x_zp);
  q.y_zero_point = static_cast<int32_t>(y_zp);
  return q;
}

Status constant_zero_point_is_zero(const Node& n, const Graph& g, size_t i, const char* what) {
  if (i >= n.inputs.size() || n.inputs[i] == kNoValue) return Status::OK();
  const Tensor* z = constant_input(n, g, i);
  if (!z) return Unimplemented(what, " zero point is not a constant");
  for (int64_t k = 0; k < z->num_elements(); ++k)
    if (z->element_as_int64(k) != 0) return Unimplemented(what, " zero point is not 0 (asymmetric weights)");
  return Status::OK();
}

StatusOr<PerTensorQuantization> per_tensor_quantization(const Node& n, const Graph& g) {
  PerTensorQuantization p;
  SPARSERT_ASSIGN_OR_RETURN(double scale, constant_scalar_input(n, g, 1, DType::kFloat32, "scale"));
  p.scale = static_cast<float>(scale);
  if (n.inputs.size() > 2 && n.inputs[2] != kNoValue) {
    const Tensor* zp = constant_input(n, g, 2);
    if (!zp || zp->num_elements() != 1 || (zp->dtype() != DType::kUInt8 && zp->dtype() != DType::kInt8))
      return Unimplemented("zero point is not a constant uint8/int8 scalar");
    p.qtype = zp->dtype();
    p.zero_point = static_cast<float>(zp->element_as_double(0));
    p.has_zero_point = true;
  }
  return p;
}

StatusOr<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else return InvalidArgument("shapes ", shape_to_string(a), " and ", shape_to_string(b), " cannot be broadcast");
  }
  return out;
}

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> s(out.size(), 0);
  std::vector<int64_t> cs = contiguous_strides(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) s[i + off] = in[i] == 1 ? 0 : cs[i];
  return s;
}

StatusOr<int64_t> normalize_axis(int64_t axis, int64_t rank, const Node& node) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
    return InvalidArgument(node.describe(), ": axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

StatusOr<std::vector<int64_t>> tensor_to_int64s(const Tensor& t, const char* what) {
  if (t.dtype() != DType::kInt64 && t.dtype() != DType::kInt32)
    return InvalidArgument(what, " must be int64 or int32, got ", dtype_name(t.dtype()));
  if (t.rank() > 1) return InvalidArgument(what, " must be a scalar or 1-D, got ", t.type_string());
  std::vector<int64_t> v(static_cast<size_t>(t.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.element_as_int64(static_cast<int64_t>(i));
  return v;
}

StatusOr<MatmulShapes> matmul_shapes(const Node& node, const Tensor& a, const Tensor& b) {
  if (a.rank() == 0 || b.rank() == 0)
    return InvalidArgument(node.describe(), ": MatMul inputs must have rank >= 1, got ", a.type_string(), " and ",
                           b.type_string());
  Shape sa = a.shape(), sb = b.shape();
  const bool a_vec = sa.size() == 1, b_vec = sb.size() == 1;
  if (a_vec) sa.insert(sa.begin(), 1);
  if (b_vec) sb.push_back(1);
  MatmulShapes m;
  m.M = sa[sa.size() - 2];
  m.K = sa.back();
  m.N = sb.back();
  if (sb[sb.size() - 2] != m.K)
    return InvalidArgument(node.describe(), ": inner dimensions differ: A is ", a.type_string(), ", B is ",
                           b.type_string());
  m.batch_a.assign(sa.begin(), sa.end() - 2);
  m.batch_b.assign(sb.begin(), sb.end() - 2);
  auto batch = broadcast_shapes(m.batch_a, m.batch_b);
  if (!batch.ok()) return batch.status().with_context(node.describe() + " batch dimensions");
  m.batch = *batch;
  m.out = m.batch;
  if (!a_vec) m.out.push_back(m.M);
  if (!b_vec) m.out.push_back(m.N);
  return m;
}

void MatmulShapes::for_each_batch(const std::function<void(int64_t, int64_t, int64_t)>& f) const {
  if (batch.empty()) {
    f(0, 0, 0);
    return;
  }
  std::vector<std::vector<int64_t>> strides = {broadcast_strides(batch_a, batch), broadcast_strides(batch_b, batch)};
  for_each_broadcast(batch, strides, [&](int64_t i, const std::vector<int64_t>& off) { f(i, off[0], off[1]); });
}

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& f) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (n <= grain) {
    f(0, n);
    return;
  }
  // OpenMP, not oneTBB: Debian's oneDNN threads with OpenMP, and a second pool
  // made the two runtimes' spinning workers contend (BERT-base, 2 threads, Zen 3:
  // 279 ms with OpenMP loops vs 303 ms with tbb::parallel_for, interleaved runs).
  const int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, omp_get_max_threads());
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t b = n * c / chunks, e = n * (c + 1) / chunks;
    f(b, e);
  }
}

int parallel_threads() { return omp_get_max_threads(); }

Status dispatch_by_size(DType dt, const Node& node, const std::function<Status(size_t)>& f) {
  int bits = dtype_bits(dt);
  if (bits < 8) return Unimplemented(node.describe(), ": element type ", dtype_name(dt), " is not supported here");
  return f(static_cast<size_t>(bits / 8));
}

Status expect_input(const KernelContext& ctx, int i, std::initializer_list<DType> allowed) {
  const Tensor* t = ctx.input(i);
  if (!t) return InvalidArgument(ctx.node().describe(), ": input ", i, " is required");
  for (DType d : allowed)
    if (t->dtype() == d) return Status::OK();
  std::string names;
  for (DType d : allowed) names += std::string(names.empty() ? "" : "|") + dtype_name(d);
  return Unimplemented(ctx.node().describe(), ": input ", i, " has type ", dtype_name(t->dtype()), ", supported: ",
                       names);
}

}  // namespace sparsert
