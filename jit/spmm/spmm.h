// Sparse linear layer: Y[M,N] = post_ops(X[M,K] * W^T), W (N x K) sparse and
// constant, packed once. The implementation list is ordered (AVX-512 VNNI,
// AVX-512 and AVX2 JIT, then the plain C++ kernels) and each entry that
// declines says why, for `sparse_run inspect` ("isa: needs avx512_vnni, have avx2").
// Generated code comes from the process-wide kernel cache.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "jit/isa.h"
#include "jit/kernel_cache.h"
#include "jit/spmm/dense_u8s8.h"
#include "jit/spmm/spmm_desc.h"
#include "jit/spmm/spmm_microkernel.h"
#include "jit/spmm/spmm_weights.h"

namespace sparsert::jit {

class JitGenerator;

// X as the implicit im2col of a convolution over one channel-blocked (NCHWc)
// image (SpmmRunArgs::conv; f32): row m is output pixel first_pixel + m (row
// major over oh x ow), column k = (ky * kw + kx) * C + c is input channel c at
// that tap, 0 in the padding, with C = K / (kh * kw) a multiple of block. The
// tile packing gathers it straight from the image: no im2col buffer.
struct SpmmConvRows {
  const float* x = nullptr;  // [C / block, ih, iw, block]
  int64_t block = 0;         // 1..64
  int64_t ih = 0, iw = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0;  // padding at the top and left
  int64_t first_pixel = 0;
};

// Run-time operands. Pointers not needed by the descriptor may be null.
struct SpmmRunArgs {
  int64_t m = 0;
  const void* x = nullptr;  // f32 or u8 [M, K], rows ldx elements apart
  int64_t ldx = 0;
  void* y = nullptr;        // desc.out [M, N], rows ldy elements apart
  int64_t ldy = 0;
  const float* bias = nullptr;      // [N]                      (PostOp::kBias)
  const float* residual = nullptr;  // f32 [M, N]               (PostOp::kResidualAdd)
  int64_t ld_residual = 0;
  float clip_min = 0.f, clip_max = 0.f;  //                     (PostOp::kClip)
  // u8s8 only: real x = (q - x_zero_point) * x_scale; real w[n] = q * w_scales[n or 0].
  int32_t x_zero_point = 0;
  float x_scale = 1.f;
  const float* w_scales = nullptr;
  int64_t w_scales_count = 1;  // 1 (per tensor) or N (per output channel)
  float y_scale = 1.f;         // kU8 / kS8 output
  int32_t y_zero_point = 0;
  // u8s8 with kF32 output, optional: receives {min(0, min Y), max(0, max Y)},
  // NaN ignored (DynamicQuantizeLinear's range of Y, taken while Y's rows are
  // in L1 instead of in a pass over Y).
  float* y_range = nullptr;
  // f32 only, optional: X's rows from a convolution's input (x and ldx unused).
  const SpmmConvRows* conv = nullptr;
  // f32 only, > 0: Y and the residual channel-blocked (NCHWc): output (m, n)
  // at y + (n / y_block) * y_block_stride + m * y_block + n % y_block (ldy and
  // ld_residual unused).
  int64_t y_block = 0;
  int64_t y_block_stride = 0;
};

class Spmm {
 public:
  // w: the dense weight, element (r, c) at w[r * stride_n + c * stride_k]
  // (float for kF32, int8 for kU8S8). desc.pattern_fingerprint is filled in.
  static StatusOr<std::shared_ptr<const Spmm>> create(SpmmDesc desc, const void* w, int64_t stride_n,
                                                      int64_t stride_k);
  // threads <= 1 runs on the calling thread.
  Status run(const SpmmRunArgs& args, int threads) const;

  const SpmmDesc& desc() const { return desc_; }
  // The band layout's packed W (empty for SpmmLayout::kDenseTiles).
  const PackedSparse& weights() const { return w_; }
  // The dense-tile layout's packed W (nullptr for SpmmLayout::kBands).
  const PackedDenseU8S8* dense_weights() const { return dense_.get(); }
  // Bytes of packed weights either layout keeps (the dense tiles' remainder on the bands included).
  int64_t packed_bytes() const {
    return dense_ ? dense_->packed_bytes() + (remainder_ ? remainder_->packed_bytes() : 0) : w_.packed_bytes();
  }
  // "f32_spmm_{1,8,16,32}x1_avx2", "f32_bspmm_{1,8,16}x4_avx2", "u8_s8_s32_bspmm_16x4_generic", ...
  const std::string& impl_name() const { return impl_name_; }
  // One line per implementation that declined, with its reason.
  const std::vector<std::string>& declined() const { return declined_; }

 private:
  struct Tile {
    int64_t m0;
    int mr;
    int64_t pack_offset;  // bytes into the packed-activation buffer
  };
  Status validate(const SpmmRunArgs& a) const;
  std::vector<Tile> plan_tiles(int64_t m, int64_t* pack_bytes) const;
  int64_t tile_bytes(int mr) const;  // packed activations of a tile of mr rows
  void pack_tile(const SpmmRunArgs& a, const Tile& t, uint8_t* dst) const;
  // The 1x4 quads' tile (spmm_microkernel.h) of `rows` rows, from x[0, mt).
  void pack_dense_quads(const uint8_t* x, int64_t ldx, int64_t mt, int rows, uint8_t* dst) const;
  // zero_point_fix: see SpmmTileArgs (quads with a zero point), else null.
  void compute(const Tile& t, const uint8_t* packed, int64_t band_begin, int64_t band_end, void* acc,
               const int32_t* zero_point_fix) const;
  SpmmTileFn kernel_for(int mr) const;
  Status run_dense(const SpmmRunArgs& a, int threads) const;
  // One JIT implementation of the ordered list.
  struct Candidate {
    uint32_t isa;                  // what it needs (jit::Isa bits)
    std::string name;              // its impl_name()
    std::function<Status()> load;  // fetches its code from the cache; null: no generator
    std::string missing;           // why there is none (when load is null)
  };
  // Fills declined_ / impl_name_ / use_jit_ / code_isa_ with the first
  // candidate the ISA cap allows and whose code loads, else the generic C++.
  void choose_implementation(std::vector<Candidate> candidates, const std::string& generic_name);
  static StatusOr<std::shared_ptr<const Spmm>> create_dense(std::shared_ptr<Spmm> spmm, const void* w, int64_t stride_n,
                                                            int64_t stride_k);

  SpmmDesc desc_;
  PackedSparse w_;
  std::string impl_name_;
  std::vector<std::string> declined_;
  bool use_jit_ = false;
  uint32_t code_isa_ = 0;  // the chosen candidate's ISA (tile heights depend on it); 0: generic
  // The instructions the tile packing may use: the chosen kernel's.
  uint32_t packing_isa() const { return use_jit_ ? code_isa_ : uint32_t{kIsaGeneric}; }
  // JIT code per tile height (f32: 1/8/16/32, 1/8/16 for 4-row bands on AVX2;
  // u8s8: 1/16), shared via the cache.
  std::shared_ptr<const JitGenerator> code_[5];  // by tile height: 1, 8, 16, 32, 64 (mr_slot)
  // SpmmLayout::kDenseTiles: packed W and JIT code per tile height 1..6 (index mr - 1).
  std::shared_ptr<const PackedDenseU8S8> dense_;
  // Its remainder R on the exact 1-row bands when R is too large for the
  // scalar per-column loop (per-channel quantized weights: ~2% of weights).
  std::shared_ptr<const Spmm> remainder_;
  std::shared_ptr<const JitGenerator> dense_code_[PackedDenseU8S8::kMaxRows];
};

// Counts of the process-wide SpMM code cache.
KernelCacheStats spmm_kernel_cache_stats();

}  // namespace sparsert::jit
