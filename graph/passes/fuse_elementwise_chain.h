// Fuses runs of element-wise ops over one tensor into a com.sparsert
// ElementwiseChain (ops/elementwise_chain.h), which reads and writes memory
// once: Add/Sub/Mul/Div with a constant scalar, a constant per-last-axis
// vector (biases, attention masks), a tensor of the same shape (residuals) or
// an earlier value of the chain (GELU's x * ...); Erf, Sigmoid, Relu;
// QuantizeDequantize; a per-tensor DequantizeLinear as the first step and
// QuantizeLinear as the last. An intermediate value may only be read inside
// the chain (and is no graph output). What this collapses: ORT's QDQ BERT
// layers (DQ -> bias Add -> QDQ -> GELU's five ops, each followed by QDQ ->
// Q is one chain from the 8-bit product to the next 8-bit input).
#pragma once

#include "graph/passes/pass.h"

namespace sparsert::passes {

// Returns how many ElementwiseChain nodes it wrote.
StatusOr<int> run_fuse_elementwise_chain(Graph& g, PassContext& ctx);

}  // namespace sparsert::passes
