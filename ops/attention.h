// com.sparsert Attention: multi-head scaled dot-product attention on the
// projections' own layout, as graph/passes/fuse_attention.cc writes it from
// the MatMul-scale-mask-Softmax-MatMul chain BERT-style exporters emit.
//
//   inputs:  q [B, Sq, H*D], k [B, Sk, H*D], v [B, Sk, H*Dv],
//            mask (optional, float, rank <= 4, broadcasting to [B, H, Sq, Sk])
//   attrs:   num_heads H; scale (float); divide (int, 1: scores / scale, 0: scores * scale)
//   output:  [B, Sq, H*Dv]
//   per head h: O_h = softmax((Q_h K_h^T) / scale + mask) V_h  (or * scale),
//   with Q_h = q[:, :, h*D:(h+1)*D] and so on: the head split/merge Transposes
//   of the unfused graph become strides.
// The scale is applied with the graph's own operator (Div or Mul) so that the
// fused op gives the unfused graph's floats for the same scores.
#pragma once

#include <cstdint>
#include <functional>

#include "base/status.h"
#include "graph/graph.h"
#include "graph/tensor.h"
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
};

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
