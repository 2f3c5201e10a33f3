// com.sparsert Attention: multi-head scaled dot-product attention on the
// projections' own layout, as graph/passes/fuse_attention.cc writes it from
// the MatMul-scale-mask-Softmax-MatMul chain BERT-style exporters emit.
//
//   inputs:  q [B, Sq, H*D], k [B, Sk, H*D], v [B, Sk, H*Dv],
//            mask (optional, float, rank <= 4, broadcasting to [B, H, Sq, Sk])
//   attrs:   num_heads H; scale (float); divide (int, 1: scores / scale, 0: scores * scale);
//            optional qdq_scores, qdq_scaled, qdq_masked, qdq_probs, qdq_output (floats
//            [scale, zero_point, qmin, qmax]): the Q/DQ pairs a statically quantized
//            graph has on the scores, after the scale, after the mask add, on the
//            probabilities and on the output, applied at the same points
//   output:  [B, Sq, H*Dv]
//   per head h: O_h = softmax((Q_h K_h^T) / scale + mask) V_h  (or * scale),
//   with Q_h = q[:, :, h*D:(h+1)*D] and so on: the head split/merge Transposes
//   of the unfused graph become strides.
// The scale is applied with the graph's own operator (Div or Mul) so that the
// fused op gives the unfused graph's floats for the same scores.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "ops/fast/vector_math.h"
#include "ops/registry.h"

namespace sparsert {

struct AttentionDims {
  int64_t B = 0, Sq = 0, Sk = 0, H = 0, D = 0, Dv = 0;
  // Element strides of the mask over (b, h, i, j) after broadcasting (0 on a
  // broadcast dim); all zero and has_mask false when there is none.
  bool has_mask = false;
  int64_t mask_stride[4] = {0, 0, 0, 0};
  const float* mask_row(const float* mask, int64_t b, int64_t h, int64_t i) const {
    return mask + b * mask_stride[0] + h * mask_stride[1] + i * mask_stride[2];
  }
};

struct AttentionAttrs {
  int64_t num_heads = 1;
  float scale = 1.f;
  bool divide = false;
  std::optional<fast::QdqStep> qdq_scores, qdq_scaled, qdq_masked, qdq_probs, qdq_output;
  // The four row Q/DQ pairs as scaled_masked_softmax_rows takes them
  // (pointers into this object); has_row_qdq: any of them is set.
  fast::AttentionRowQdq row_qdq() const;
  bool has_row_qdq() const { return qdq_scores || qdq_scaled || qdq_masked || qdq_probs; }
};

// The attribute names of the Q/DQ pairs, in the order of the chain.
inline constexpr const char* kAttentionQdqAttrs[5] = {"qdq_scores", "qdq_scaled", "qdq_masked", "qdq_probs",
                                                      "qdq_output"};
// The attribute value of a pair: {scale, zero_point, qmin, qmax}.
std::vector<float> attention_qdq_attr(const fast::QdqStep& q);

StatusOr<AttentionAttrs> read_attention_attrs(const Node& node);
// Checks the inputs' types and shapes against each other (errors name the
// node, the tensor and expected vs got) and derives the dims.
StatusOr<AttentionDims> attention_dims(const Node& node, const AttentionAttrs& a, const Tensor& q, const Tensor& k,
                                       const Tensor& v, const Tensor* mask);

// The kernel around a fast attention body (fast_attention_f32,
// onednn_attention_f32): inputs that do not check out go to the reference
// kernel, which names what is wrong, as do Sk == 0 or D == 0 (empty softmax
// rows or dot products); otherwise it allocates y and calls
// run(dims, q, k, v, mask or null, y) unless y is empty.
using AttentionBody = std::function<Status(const AttentionDims& d, const float* q, const float* k, const float* v,
                                           const float* mask, float* y)>;
KernelFn attention_kernel(const Node& node, const AttentionAttrs& a, AttentionBody run);

}  // namespace sparsert
