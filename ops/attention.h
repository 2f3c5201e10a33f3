// com.sparsert Attention: multi-head scaled dot-product attention on the
// projections' own layout, as graph/passes/fuse_attention.cc writes it from
// the MatMul-scale-mask-Softmax-MatMul chain BERT-style exporters emit.
//
//   inputs:  q [B, Sq, H*D], k [B, Sk, H*D], v [B, Sk, H*Dv],
//            mask (optional, float, rank <= 4, broadcasting to [B, H, Sq, Sk]),
//            keep (optional, bool, rank <= 4, broadcasting to [B, H, Sq, Sk]: GPT-2's causal
//            Where(keep, scores, fill) after the scale, before the mask)
//   attrs:   num_heads H; scale (float); divide (int, 1: scores / scale, 0: scores * scale);
//            fill (float, with keep: the value of the scores where keep is false);
//            optional qdq_scores, qdq_scaled, qdq_masked, qdq_probs, qdq_output (floats
//            [scale, zero_point, qmin, qmax]): the Q/DQ pairs a statically quantized
//            graph has on the scores, after the scale, after the mask add, on the
//            probabilities and on the output, applied at the same points
//   output:  [B, Sq, H*Dv]
//   per head h: O_h = softmax(where(keep, (Q_h K_h^T) / scale, fill) + mask) V_h  (or * scale),
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
  // The same for the causal keep input.
  bool has_keep = false;
  int64_t keep_stride[4] = {0, 0, 0, 0};
  const uint8_t* keep_row(const uint8_t* keep, int64_t b, int64_t h, int64_t i) const {
    return keep + b * keep_stride[0] + h * keep_stride[1] + i * keep_stride[2];
  }
  // Row steps for the rows of (b, h) from query row i: a's pairs and fill,
  // and the keep rows there when there is a keep input.
  fast::AttentionRowSteps row_steps(const fast::AttentionRowSteps& base, const uint8_t* keep, int64_t b, int64_t h,
                                    int64_t i) const {
    fast::AttentionRowSteps r = base;
    if (has_keep) r.keep = keep_row(keep, b, h, i), r.keep_row_stride = keep_stride[2], r.keep_col_stride = keep_stride[3];
    return r;
  }
};

struct AttentionAttrs {
  int64_t num_heads = 1;
  float scale = 1.f;
  bool divide = false;
  float fill = 0.f;
  std::optional<fast::QdqStep> qdq_scores, qdq_scaled, qdq_masked, qdq_probs, qdq_output;
  // True when qdq_scaled gives back every value the scale can make of
  // qdq_scores' 256 codes (so the kernels skip it, exactly): ORT's min-max
  // calibration makes the scaled pair the scores pair's scale / 8 for BERT.
  bool scaled_pair_is_identity = false;
  // The four row Q/DQ pairs and the fill as scaled_masked_softmax_rows takes
  // them (pointers into this object; the kernels set the keep rows).
  fast::AttentionRowSteps row_steps() const;
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
                                       const Tensor& v, const Tensor* mask, const Tensor* keep);

// The kernel around a fast attention body (fast_attention_f32,
// onednn_attention_f32): inputs that do not check out go to the reference
// kernel, which names what is wrong, as do Sk == 0 or D == 0 (empty softmax
// rows or dot products); otherwise it allocates y and calls
// run(dims, q, k, v, mask or null, keep or null, y) unless y is empty.
using AttentionBody = std::function<Status(const AttentionDims& d, const float* q, const float* k, const float* v,
                                           const float* mask, const uint8_t* keep, float* y)>;
KernelFn attention_kernel(const Node& node, const AttentionAttrs& a, AttentionBody run);

}  // namespace sparsert
