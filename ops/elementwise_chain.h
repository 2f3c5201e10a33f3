// com.sparsert ElementwiseChain: a run of element-wise ops over one tensor,
// evaluated a cache-sized chunk at a time, so the chain reads and writes
// memory once instead of once per op (the fuse_elementwise_chain pass writes
// it; ORT's QDQ models wrap every activation op in quantize/dequantize, BERT's
// GELU is five ops).
//   inputs:  X (float, or uint8/int8 when the first step dequantizes it),
//            then side operands: constant per-last-axis vectors or tensors of
//            X's shape (float)
//   attributes: ops (ints, one ChainOp per step), operands (ints, 2 per step:
//            OperandKind and an index: side input number or register),
//            constants (floats, 4 per step: a scalar operand, or scale, zero
//            point, low, high of a quantization step)
//   output:  float of X's shape, or uint8/int8 when the last step quantizes.
// Every step computes what the op it replaces computes (float arithmetic in
// the same order, the same erf / quantization functions), so the fused chain
// is bit-identical to the unfused graph's fast kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"

namespace sparsert {

enum class ChainOp : int64_t {
  kAdd, kSub, kMul, kDiv,        // value op operand (kSubRev / kDivRev: operand op value)
  kSubRev, kDivRev,
  kErf, kSigmoid, kRelu,
  kQuantizeDequantize,           // (q(v) - zp) * scale, q = saturate(nearbyint(v / scale) + zp) in [lo, hi]
  kDequantize,                   // first step only: (x - zp) * scale of the 8-bit input
  kQuantize,                     // last step only: q(v) as the 8-bit output (lo/hi give its type)
  kSave,                         // register[index] = value (for a later operand)
};

enum class OperandKind : int64_t { kNone, kConstant, kSide, kRegister };

struct ChainStep {
  ChainOp op = ChainOp::kAdd;
  OperandKind kind = OperandKind::kNone;
  int64_t index = 0;           // side input number (1-based node input) or register
  float c[4] = {0, 0, 0, 0};   // constant operand, or scale, zero point, lo, hi
};

inline constexpr int kChainRegisters = 2;

// Attributes <-> steps (Status names the node when the attributes do not fit).
void write_chain_attributes(const std::vector<ChainStep>& steps, AttributeMap& attrs);
StatusOr<std::vector<ChainStep>> read_chain_steps(const Node& node);

}  // namespace sparsert
