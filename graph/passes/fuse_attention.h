// Fuses multi-head attention as BERT-style exporters write it into one
// com.sparsert Attention (ops/attention.h):
//   q, k, v [B, S, H*D] -> Reshape [B, S, H, D] -> Transpose (q, v: 0,2,1,3; k: 0,2,3,1)
//   -> MatMul(q, k) -> optional Div or Mul by a constant scalar -> optional
//   Where(bool keep, scores, constant fill) (GPT-2's causal mask) -> optional Add of
//   a float mask -> Softmax over the last axis -> MatMul(., v)
//   -> Transpose 0,2,1,3 -> Reshape [B, S, H*Dv].
// A statically quantized (QDQ) graph has a Q/DQ pair (com.sparsert
// QuantizeDequantize, per tensor, constant parameters: what fuse_qdq leaves)
// after any of the MatMuls, the scale, the mask Add and the Softmax; they
// become the Attention's qdq_* attributes and are applied at the same points.
// The dims are proven from the types shape inference wrote (static, or the
// same symbol), so symbolic batch and sequence fuse too. Intermediate values
// with other readers or that are graph outputs stop the match (their
// computation would stay anyway); Shape readers of the merged heads are
// allowed (exporters compute the final Reshape's shape from them).
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many Attention nodes it wrote.
StatusOr<int> run_fuse_attention(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
