// com.sparsert Attention (ops/attention.h): attributes, shape checks, shape
// rule, the reference kernel (double dot products and softmax, the plain
// twin of fast_attention_f32 and onednn_attention_f32) and the kernel shell
// those two share.
#include "ops/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "ops/linear.h"
#include "ops/op_util.h"
#include "ops/quant_util.h"
#include "ops/register_all.h"
#include "ops/registry.h"

namespace sparsert {

fast::AttentionRowSteps AttentionAttrs::row_steps() const {
  fast::AttentionRowSteps r;
  r.fill = fill;
  if (qdq_scores) r.scores = &*qdq_scores;
  if (qdq_scaled && !scaled_pair_is_identity) r.scaled = &*qdq_scaled;
  if (qdq_masked) r.masked = &*qdq_masked;
  if (qdq_probs) r.probs = &*qdq_probs;
  return r;
}

std::vector<float> attention_qdq_attr(const fast::QdqStep& q) { return {q.scale, q.zero_point, q.qlo, q.qhi}; }

namespace {

// An optional Q/DQ pair attribute: {scale > 0, an integer zero point, qmin <= zero point <= qmax}.
Status read_qdq_attr(const Node& node, const char* name, std::optional<fast::QdqStep>* out) {
  if (!node.attrs.has(name)) return Status::OK();
  SPARSERT_ASSIGN_OR_RETURN(std::vector<float> v, node.attrs.get_floats(name));
  if (v.size() != 4 || !(v[0] > 0.f) || !std::isfinite(v[0]) || !is_8bit_code_range(v[2], v[3]) ||
      std::nearbyint(v[1]) != v[1] || v[1] < v[2] || v[1] > v[3])
    return InvalidArgument(node.describe(), ": attribute ", name, " has ", v.size(),
                           " values, expected [scale > 0, zero_point, qmin, qmax] with integer qmin <= zero_point <= qmax"
                           " of an 8-bit type");
  *out = fast::QdqStep{v[0], v[1], v[2], v[3]};
  return Status::OK();
}

// The fast kernels' pair on one float (fast::quantize_dequantize_array's formula).
float fast_qdq(float x, const fast::QdqStep& q) {
  float v = 0.f;
  fast::quantize_dequantize_array(&x, 1, q.scale, q.zero_point, q.qlo, q.qhi, &v);
  return v;
}

// Whether scaled(qdq_scores code) passes qdq_scaled unchanged, bit for bit, for every code.
bool scaled_pair_is_identity(const AttentionAttrs& a) {
  if (!a.qdq_scores || !a.qdq_scaled) return false;
  const fast::QdqStep& s = *a.qdq_scores;
  for (float code = s.qlo; code <= s.qhi; code += 1.f) {
    const float v = (code - s.zero_point) * s.scale;
    const float scaled = a.divide ? v / a.scale : v * a.scale;
    const float back = fast_qdq(scaled, *a.qdq_scaled);
    if (std::memcmp(&back, &scaled, sizeof(float)) != 0) return false;
  }
  return true;
}

}  // namespace

StatusOr<AttentionAttrs> read_attention_attrs(const Node& node) {
  AttentionAttrs a;
  SPARSERT_ASSIGN_OR_RETURN(a.num_heads, node.attrs.get_int("num_heads"));
  SPARSERT_ASSIGN_OR_RETURN(a.scale, node.attrs.get_float("scale", 1.f));
  SPARSERT_ASSIGN_OR_RETURN(int64_t divide, node.attrs.get_int("divide", 0));
  a.divide = divide != 0;
  SPARSERT_ASSIGN_OR_RETURN(a.fill, node.attrs.get_float("fill", 0.f));
  if (a.num_heads < 1) return InvalidArgument(node.describe(), ": num_heads is ", a.num_heads, ", expected >= 1");
  std::optional<fast::QdqStep>* slots[5] = {&a.qdq_scores, &a.qdq_scaled, &a.qdq_masked, &a.qdq_probs, &a.qdq_output};
  for (int i = 0; i < 5; ++i) SPARSERT_RETURN_IF_ERROR(read_qdq_attr(node, kAttentionQdqAttrs[i], slots[i]));
  a.scaled_pair_is_identity = scaled_pair_is_identity(a);
  return a;
}

StatusOr<AttentionDims> attention_dims(const Node& node, const AttentionAttrs& a, const Tensor& q, const Tensor& k,
                                       const Tensor& v, const Tensor* mask, const Tensor* keep) {
  const char* names[] = {"q", "k", "v"};
  const Tensor* t[] = {&q, &k, &v};
  for (int i = 0; i < 3; ++i) {
    if (t[i]->dtype() != DType::kFloat32 || t[i]->rank() != 3)
      return InvalidArgument(node.describe(), ": ", names[i], " is ", t[i]->type_string(),
                             ", expected float[batch, sequence, heads * head_size]");
    if (t[i]->dim(2) % a.num_heads != 0)
      return InvalidArgument(node.describe(), ": ", names[i], " hidden size ", t[i]->dim(2), " is not a multiple of ",
                             a.num_heads, " heads");
  }
  AttentionDims d;
  d.B = q.dim(0), d.Sq = q.dim(1), d.Sk = k.dim(1), d.H = a.num_heads;
  d.D = q.dim(2) / a.num_heads, d.Dv = v.dim(2) / a.num_heads;
  if (k.dim(0) != d.B || v.dim(0) != d.B || v.dim(1) != d.Sk || k.dim(2) != q.dim(2))
    return InvalidArgument(node.describe(), ": q ", q.type_string(), ", k ", k.type_string(), " and v ",
                           v.type_string(), " do not line up (expected k [B, Sk, H*D] and v [B, Sk, H*Dv])");
  // mask and keep broadcast to [B, H, Sq, Sk]: their element strides there.
  auto broadcast_strides = [&](const Tensor& t, const char* name, DType want, int64_t* strides) -> Status {
    const Shape full = {d.B, d.H, d.Sq, d.Sk};
    if (t.dtype() != want || t.rank() > 4)
      return InvalidArgument(node.describe(), ": ", name, " is ", t.type_string(), ", expected ", dtype_name(want),
                             " of rank <= 4");
    int64_t stride = 1;
    for (int i = 3, m = t.rank() - 1; i >= 0; --i, --m) {
      const int64_t md = m >= 0 ? t.dim(m) : 1;
      if (md != full[static_cast<size_t>(i)] && md != 1)
        return InvalidArgument(node.describe(), ": ", name, " ", t.type_string(), " does not broadcast to [", d.B, ",",
                               d.H, ",", d.Sq, ",", d.Sk, "]");
      strides[i] = md == 1 ? 0 : stride;
      stride *= md;
    }
    return Status::OK();
  };
  if (mask) {
    SPARSERT_RETURN_IF_ERROR(broadcast_strides(*mask, "mask", DType::kFloat32, d.mask_stride));
    d.has_mask = true;
  }
  if (keep) {
    SPARSERT_RETURN_IF_ERROR(broadcast_strides(*keep, "keep", DType::kBool, d.keep_stride));
    d.has_keep = true;
  }
  return d;
}

KernelFn attention_kernel(const Node& node, const AttentionAttrs& a, AttentionBody run) {
  KernelFn ref = reference_kernel(node);
  return KernelFn([a, ref, run = std::move(run)](KernelContext& ctx) -> Status {
    const Tensor &q = *ctx.input(0), &k = *ctx.input(1), &v = *ctx.input(2);
    const Tensor *mask = ctx.input(3), *keep = ctx.input(4);
    auto d = attention_dims(ctx.node(), a, q, k, v, mask, keep);
    if (!d.ok() || d->Sk == 0 || d->D == 0) return ref(ctx);
    SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, {d->B, d->Sq, d->H * d->Dv},
                                                              OutputInit::kOverwritten));
    if (y->num_elements() == 0) return Status::OK();
    return run(*d, q.data<float>(), k.data<float>(), v.data<float>(), mask ? mask->data<float>() : nullptr,
               keep ? static_cast<const uint8_t*>(keep->raw_data()) : nullptr, y->data<float>());
  });
}

namespace {

// A Q/DQ pair as the reference QuantizeLinear and DequantizeLinear compute it.
float reference_qdq(float x, const std::optional<fast::QdqStep>& q) {
  if (!q) return x;
  const float code = quantize_code_reference(x, q->scale, q->zero_point, q->qlo, q->qhi);
  return static_cast<float>((static_cast<double>(code) - q->zero_point) * q->scale);
}

Status attention_reference(KernelContext& ctx) {
  SPARSERT_ASSIGN_OR_RETURN(AttentionAttrs a, read_attention_attrs(ctx.node()));
  const Tensor &q = *ctx.input(0), &k = *ctx.input(1), &v = *ctx.input(2);
  const Tensor *mask = ctx.input(3), *keep = ctx.input(4);
  SPARSERT_ASSIGN_OR_RETURN(AttentionDims d, attention_dims(ctx.node(), a, q, k, v, mask, keep));
  const uint8_t* keep_data = keep ? static_cast<const uint8_t*>(keep->raw_data()) : nullptr;
  SPARSERT_ASSIGN_OR_RETURN(Tensor * y, ctx.allocate_output(0, DType::kFloat32, {d.B, d.Sq, d.H * d.Dv},
                                                            OutputInit::kOverwritten));
  const float *pq = q.data<float>(), *pk = k.data<float>(), *pv = v.data<float>();
  float* py = y->data<float>();
  // Without Q/DQ pairs the scores stay in double; a pair quantizes the float
  // the unfused graph would have there, so the steps before it go through float.
  const bool float_scores = a.qdq_scores || a.qdq_scaled || a.qdq_masked;
  std::vector<double> p(static_cast<size_t>(d.Sk));
  for (int64_t b = 0; b < d.B; ++b)
    for (int64_t h = 0; h < d.H; ++h)
      for (int64_t i = 0; i < d.Sq; ++i) {
        const float* qi = pq + (b * d.Sq + i) * d.H * d.D + h * d.D;
        double mx = -INFINITY;
        for (int64_t j = 0; j < d.Sk; ++j) {
          const float* kj = pk + (b * d.Sk + j) * d.H * d.D + h * d.D;
          double dot = 0;
          for (int64_t c = 0; c < d.D; ++c) dot += static_cast<double>(qi[c]) * kj[c];
          const float m = mask ? d.mask_row(mask->data<float>(), b, h, i)[j * d.mask_stride[3]] : 0.f;
          const bool kept = !keep || d.keep_row(keep_data, b, h, i)[j * d.keep_stride[3]] != 0;
          double s;
          if (float_scores) {
            float f = reference_qdq(static_cast<float>(dot), a.qdq_scores);
            f = reference_qdq(a.divide ? f / a.scale : f * a.scale, a.qdq_scaled);
            if (!kept) f = a.fill;
            f = reference_qdq(mask ? f + m : f, a.qdq_masked);  // (with no mask, right after qdq_scaled)
            s = f;
          } else {
            s = a.divide ? dot / a.scale : dot * a.scale;
            if (!kept) s = a.fill;
            if (mask) s += m;
          }
          p[static_cast<size_t>(j)] = s;
          mx = std::fmax(mx, s);
        }
        double sum = 0;
        for (double& s : p) sum += (s = std::exp(s - mx));
        if (a.qdq_probs)
          for (double& s : p) s = reference_qdq(static_cast<float>(s / sum), a.qdq_probs);
        const double norm = a.qdq_probs ? 1.0 : sum;
        for (int64_t c = 0; c < d.Dv; ++c) {
          double o = 0;
          for (int64_t j = 0; j < d.Sk; ++j) o += p[static_cast<size_t>(j)] * pv[(b * d.Sk + j) * d.H * d.Dv + h * d.Dv + c];
          py[(b * d.Sq + i) * d.H * d.Dv + h * d.Dv + c] = reference_qdq(static_cast<float>(o / norm), a.qdq_output);
        }
      }
  return Status::OK();
}

Status attention_rule(InferContext& c) {
  const ValueType &q = c.input(0), &v = c.input(2);
  if (!q.has_shape || !v.has_shape || q.dims.size() != 3 || v.dims.size() != 3) {
    c.set_output_rank_unknown(0, DType::kFloat32);
    return Status::OK();
  }
  c.set_output(0, DType::kFloat32, {q.dims[0], q.dims[1], v.dims[2]});
  return Status::OK();
}

}  // namespace

void register_attention_ops(OpRegistry& r) {
  OpSchema s{kSparsertDomain, "Attention", 3, 5, 1, 1, attention_reference};
  s.infer = attention_rule;
  r.add(std::move(s));
}

}  // namespace sparsert
