#include "ops/register_all.h"

#include "ops/registry.h"

namespace sparsert {

void register_all_ops(OpRegistry& r) {
  register_elementwise_binary_ops(r);
  register_elementwise_unary_ops(r);
  register_matmul_ops(r);
  register_linear_ops(r);
  register_integer_linear_ops(r);
  register_shape_ops(r);
  register_gather_slice_ops(r);
  register_normalization_ops(r);
  register_reduce_ops(r);
  register_conv_pool_ops(r);
  register_pad_ops(r);
  register_quantize_ops(r);
  register_quantized_conv_ops(r);
  register_conv_transpose_ops(r);
  register_resize_ops(r);
  register_sort_scan_ops(r);
  register_nchwc_ops(r);
  register_elementwise_chain_ops(r);
  register_attention_ops(r);
  register_shape_rules(r);
  register_sparse_impls(r);  // before the dense paths it competes with
  register_sparse_conv_impls(r);
  register_fast_linear_impls(r);  // dense Linear with tanh GELU: before oneDNN's slow post-op
  register_onednn_impls(r);
  register_fast_attention_impls(r);  // before oneDNN's, which backs it up without AVX2
  register_onednn_attention_impls(r);
  register_onednn_conv_impls(r);
  register_onednn_int8_impls(r);
  register_fast_impls(r);
  register_fast_layout_impls(r);
  register_fast_quantize_impls(r);
  register_fast_int8_impls(r);  // after oneDNN's int8 path, which it backs up
  // Element-wise unary ops whose kernels (reference loops and ops/fast, which
  // copies its input when aliased) are safe with the output on the input.
  for (const char* op : {"Relu", "Gelu", "Erf", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Clip",
                         "LeakyRelu", "HardSigmoid", "HardSwish", "Softplus", "Elu", "Selu"})
    r.set_in_place("", op);
  r.set_in_place("com.microsoft", "Gelu");
  // Binary arithmetic: an input the size of the output is not broadcast, so
  // the kernel (ops/elementwise_binary.cc, no restrict pointers) reads its
  // element i, at offset i, before it writes output element i.
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) r.set_in_place("", op);
}

}  // namespace sparsert
