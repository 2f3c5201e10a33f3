// Descriptor of one sparse linear layer: Y[M,N] = post_ops(X[M,K] * W^T) with W
// (N x K) sparse and constant. Equality, hashing and printing all come from
// the one field list SPARSERT_SPMM_DESC_FIELDS (as oneDNN's primitive hashing
// does), so a new field cannot be forgotten in one of them. M is not a field:
// kernels take it at run time, so symbolic batch/sequence dims keep the sparse
// path.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace sparsert::jit {

// Activation x weight types.
enum class SpmmDType : uint8_t {
  kF32,   // f32 x f32 -> f32 (unstructured: one row of W per band)
  kU8S8,  // u8 x s8 -> s32 accumulators, exact (weights' zero point is 0:
          // a sparse weight's zeros are its zero point)
};
// What the kernel writes.
enum class SpmmOut : uint8_t {
  kF32,  // f32 (int8: dequantized by x_scale * w_scale[n])
  kS32,  // int8 only: raw accumulators with the activation zero point removed (MatMulInteger)
  kU8,   // int8 only: requantized with y_scale / y_zero_point
  kS8,
};
// How W is stored and multiplied.
enum class SpmmLayout : uint8_t {
  kBands,       // sparse: bands of band_rows rows sharing K index lists (both dtypes)
  kDenseTiles,  // u8s8 only: dense 4-byte K groups for vpmaddubsw, 6x16 register
                // tiles, and the few weight pairs it could saturate on as an exact
                // per-column remainder (dense_u8s8.h); for CPUs without VNNI
};
// Epilogue steps, applied in order to the f32 value of each output.
// kClip: min(max(v, clip_min), clip_max) with SpmmRunArgs' bounds (ReLU6 and
// the like: the generated code does not depend on them).
enum class PostOp : uint8_t { kNone = 0, kBias, kRelu, kGeluErf, kGeluTanh, kResidualAdd, kClip };
constexpr int kMaxPostOps = 4;
using PostOpChain = std::array<PostOp, kMaxPostOps>;  // kNone-terminated

const char* to_string(SpmmDType t);
const char* to_string(SpmmOut t);
const char* to_string(SpmmLayout t);
const char* to_string(PostOp p);
std::string to_string(const PostOpChain& chain);  // "bias+gelu_erf" or "none"

#define SPARSERT_SPMM_DESC_FIELDS(X)                                               \
  X(int64_t, n, 0)               /* output channels (rows of W) */                 \
  X(int64_t, k, 0)               /* input channels */                              \
  X(SpmmDType, dtype, SpmmDType::kF32)                                             \
  X(SpmmOut, out, SpmmOut::kF32)                                                   \
  X(SpmmLayout, layout, SpmmLayout::kBands)                                        \
  X(int32_t, band_rows, 1)       /* rows of W sharing K indices: 4 for 4x1 blocks */ \
  X(int32_t, k_block, 1)         /* 4: 1x4 blocks (aligned K quads; u8s8 quads, 1-row bands) */ \
  X(PostOpChain, post, PostOpChain{})                                              \
  X(uint32_t, isa_cap, 0)        /* jit::Isa bits the kernel may use */            \
  X(uint64_t, pattern_fingerprint, 0) /* hash of the non-zero positions, by content */

struct SpmmDesc {
#define SPARSERT_X(type, name, init) type name = init;
  SPARSERT_SPMM_DESC_FIELDS(SPARSERT_X)
#undef SPARSERT_X
  bool operator==(const SpmmDesc& o) const;
  uint64_t hash() const;
  std::string to_string() const;
};

struct SpmmDescHash {
  size_t operator()(const SpmmDesc& d) const { return static_cast<size_t>(d.hash()); }
};

}  // namespace sparsert::jit
