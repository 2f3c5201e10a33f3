// Runs float convolution chains in the channel-blocked layout (ops/nchwc.h):
// every 2-D Conv with a constant weight becomes a com.sparsert NchwcConv whose
// input and output stay blocked, and so do the element-wise ops between convs
// (ReLU, Clip, LeakyReLU, HardSwish, Tanh, Elu; Sigmoid and HardSigmoid where
// no padding lanes exist; Add, Sub, Mul of two blocked tensors of one shape),
// and 2-D MaxPools of a blocked tensor (com.sparsert NchwcMaxPool).
// Reorders (ReorderToNchwc / ReorderFromNchwc) sit only at the region's edges:
// where a plain tensor enters a conv (a first layer with fewer channels than a
// block reads NCHW directly) and where a blocked one leaves for any other op
// or a graph output. Each NchwcConv absorbs a following residual Add of
// another blocked tensor and then a ReLU or Clip as oneDNN post-ops.
//
// The block is 16 channels under an AVX-512 cap, 8 under AVX2 (what oneDNN's
// direct convolutions use there); below AVX2 the pass does nothing. Lanes past
// the channel count are zero and every op kept in the region keeps them zero.
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// The channel block the pass uses under `isa_cap` (0: the pass does nothing).
int64_t nchwc_block_for(uint32_t isa_cap);
// Returns how many NchwcConv nodes it wrote.
StatusOr<int> run_nchwc_layout(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
