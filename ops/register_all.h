// Explicit registration (no static initializers: they are dropped when a
// program links libsparsert.a and nothing references the object file).
#pragma once

namespace sparsert {
class OpRegistry;
void register_all_ops(OpRegistry& r);
void register_elementwise_binary_ops(OpRegistry& r);
void register_elementwise_unary_ops(OpRegistry& r);
void register_matmul_ops(OpRegistry& r);
void register_linear_ops(OpRegistry& r);
void register_integer_linear_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_gather_slice_ops(OpRegistry& r);
void register_normalization_ops(OpRegistry& r);
void register_reduce_ops(OpRegistry& r);
void register_conv_pool_ops(OpRegistry& r);
void register_pad_ops(OpRegistry& r);
void register_quantize_ops(OpRegistry& r);
void register_quantized_conv_ops(OpRegistry& r);
void register_conv_transpose_ops(OpRegistry& r);
void register_resize_ops(OpRegistry& r);
void register_sort_scan_ops(OpRegistry& r);
void register_nchwc_ops(OpRegistry& r);
void register_elementwise_chain_ops(OpRegistry& r);
void register_attention_ops(OpRegistry& r);
// Fast implementations (after every schema exists).
// Sparse implementations go first: each declines unless its cost model expects it to win.
void register_sparse_impls(OpRegistry& r);
void register_sparse_conv_impls(OpRegistry& r);
void register_fast_linear_impls(OpRegistry& r);
void register_fast_attention_impls(OpRegistry& r);
void register_onednn_impls(OpRegistry& r);
void register_onednn_attention_impls(OpRegistry& r);
void register_onednn_conv_impls(OpRegistry& r);
void register_onednn_int8_impls(OpRegistry& r);
void register_fast_impls(OpRegistry& r);
void register_fast_layout_impls(OpRegistry& r);
void register_fast_quantize_impls(OpRegistry& r);
void register_fast_int8_impls(OpRegistry& r);
}  // namespace sparsert
