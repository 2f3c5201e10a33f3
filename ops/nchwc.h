// Channel-blocked ("NCHWc") activations for convolution chains, the layout
// oneDNN's (and ONNX Runtime's NCHWc) direct convolutions run in: a logical
// float [N, C, H, W] tensor is stored as [N, ceil(C/b), H, W, b], channel c at
// block c / b, lane c % b; lanes past C are zero. The nchwc_layout pass keeps
// whole Conv chains in it so no layer reorders its input and output (which
// cost MobileNetV2 about a third of its time), and fuses each Conv's
// activation and residual add into it.
//
// com.sparsert ReorderToNchwc: X float [N, C, H, W] -> Y [N, ceil(C/b), H, W, b]
//   attribute block (b).
// com.sparsert ReorderFromNchwc: X [N, ceil(C/b), H, W, b] -> Y float [N, C, H, W]
//   attributes block (b), channels (C).
// com.sparsert NchwcConv: Y = activation(conv(X, W) + B + Sum), Y blocked
//   inputs:  X blocked, or plain NCHW (for a first layer with few channels);
//            W float [M, C/group, kh, kw] (constant); B float [M] (optional);
//            Sum blocked of Y's shape (optional: the fused residual Add)
//   attributes: Conv's (group, strides, dilations, pads, auto_pad,
//            kernel_shape), block, activation "none" | "relu" | "clip",
//            activation_min / activation_max (clip bounds).
// com.sparsert NchwcMaxPool: MaxPool (2-D, no Indices output) of a blocked X
//   [N, CB, H, W, b] -> Y [N, CB, OH, OW, b]; attributes: MaxPool's
//   (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode), block.
//   Lanes past C stay 0 (the max of zeros).
#pragma once

#include <cstdint>

#include "base/status.h"
#include "graph/graph.h"
#include "ops/conv_window.h"

namespace sparsert {

// The blocked shape of logical [N, C, H, W].
Shape nchwc_shape(const Shape& logical, int64_t block);
inline int64_t nchwc_blocks(int64_t channels, int64_t block) { return (channels + block - 1) / block; }
// Element offset of logical (n, c, pixel) in a blocked tensor of `blocks`
// channel blocks and `plane` pixels per channel.
inline int64_t nchwc_offset(int64_t n, int64_t c, int64_t pixel, int64_t blocks, int64_t plane, int64_t block) {
  return ((n * blocks + c / block) * plane + pixel) * block + c % block;
}

enum class ConvActivation { kNone, kRelu, kClip };

struct NchwcConvParams {
  int64_t block = 8;
  ConvActivation act = ConvActivation::kNone;
  float act_min = 0.f, act_max = 0.f;  // clip bounds
};
StatusOr<NchwcConvParams> nchwc_conv_params(const Node& node);
float apply_conv_activation(const NchwcConvParams& p, float v);

// Checked geometry of an NchwcConv for input x (blocked, or plain when
// `plain_input`) and weight w: the logical convolution and Y's blocked shape.
struct NchwcConvGeometry {
  ConvGeometry conv;  // on logical [N, C, H, W]
  bool plain_input = false;
  Shape out;          // blocked
};
StatusOr<NchwcConvGeometry> nchwc_conv_geometry(const Node& node, const NchwcConvParams& p, const Shape& x,
                                                const Shape& w);

// Checked window of an NchwcMaxPool over blocked x (its logical [N, CB * b, H, W]).
StatusOr<Window> nchwc_max_pool_window(const Node& node, const Shape& x);

}  // namespace sparsert
