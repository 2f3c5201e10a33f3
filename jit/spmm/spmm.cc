#include "jit/spmm/spmm.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "base/scratch.h"
#include "jit/isa.h"
#include "jit/spmm/gen_spmm_x86.h"
#include "jit/spmm/spmm_conv_rows.h"
#include "jit/spmm/spmm_epilogue.h"
#include "jit/spmm/spmm_transpose.h"

namespace sparsert::jit {
namespace {

// Generated code depends on (dtype, tile height, band rows, group, ISA) only.
struct CodeKey {
  SpmmDType dtype;
  int mr;
  int band_rows;
  int group;     // K indices per group: 1 (f32), 2 (u8s8 pairs) or 4 (u8s8 quads)
  uint32_t isa;  // kIsaAvx2, kIsaAvx512 or kIsaAvx512Vnni: which generator
  int k_block;   // PackedSparse::k_block: 4 / 2, the quads / pairs of 1x4 blocks (one K index a group), else 1
  bool operator==(const CodeKey& o) const {
    return dtype == o.dtype && mr == o.mr && band_rows == o.band_rows && group == o.group && isa == o.isa &&
           k_block == o.k_block;
  }
};
struct CodeKeyHash {
  size_t operator()(const CodeKey& k) const {
    return (static_cast<size_t>(k.k_block) << 32) ^ (static_cast<size_t>(k.isa) << 24) ^ (static_cast<size_t>(k.dtype) << 16) ^
           (static_cast<size_t>(k.group) << 12) ^ (static_cast<size_t>(k.mr) << 4) ^ static_cast<size_t>(k.band_rows);
  }
};

KernelCache<CodeKey, JitGenerator, CodeKeyHash>& code_cache() {
  static auto* cache = new KernelCache<CodeKey, JitGenerator, CodeKeyHash>();  // never destroyed: outlives sessions
  return *cache;
}

StatusOr<std::shared_ptr<const JitGenerator>> cached_code(const CodeKey& key) {
  return code_cache().get_or_create(key, [&]() -> StatusOr<std::shared_ptr<const JitGenerator>> {
    const bool avx512 = key.isa != kIsaAvx2;
    if (key.dtype == SpmmDType::kF32 && key.mr == 1)
      return avx512 && key.band_rows == 1 ? generate_f32_spmv_gather_avx512() : generate_f32_spmv_avx2(key.band_rows);
    if (key.dtype == SpmmDType::kF32 && key.band_rows == 4)
      return avx512 ? generate_f32_bspmm_avx512(key.mr) : generate_f32_bspmm_avx2(key.mr);
    if (key.dtype == SpmmDType::kF32) return avx512 ? generate_f32_spmm_avx512(key.mr) : generate_f32_spmm_avx2(key.mr);
    if (key.group == 4)
      return key.mr == 1        ? generate_u8s8_quad_spmv_avx512_vnni(key.band_rows, key.k_block)
             : key.k_block == 4 ? generate_u8s8_kquad_bspmm_avx512_vnni(key.mr)
             : key.mr == 16     ? generate_u8s8_quad16_bspmm_avx512_vnni(key.band_rows)
                                : generate_u8s8_quad_bspmm_avx512_vnni(key.band_rows);
    if (key.mr == 1) return generate_u8s8_spmv_avx2(key.band_rows, key.k_block);
    if (key.k_block == 2) return avx512 ? generate_u8s8_kpair_bspmm_avx512() : generate_u8s8_kpair_bspmm_avx2();
    return avx512 ? generate_u8s8_bspmm_avx512(key.band_rows) : generate_u8s8_bspmm_avx2(key.band_rows);
  });
}

// The generator a tile height takes when the layer's code is for `isa`: the
// one-row kernels (mr = 1) of f32 and u8s8 pairs and f32 8-row tiles stay on
// AVX2 (xmm / one ymm), except f32 1-row bands on AVX-512 (the gather
// kernel); quads have their own.
uint32_t kernel_isa(SpmmDType dtype, int group, int mr, int band_rows, uint32_t isa) {
  if (group == 4) return isa;
  if (dtype == SpmmDType::kF32 && mr == 1 && band_rows == 1 && is_subset(kIsaAvx512, isa)) return kIsaAvx512;
  if (mr == 1 || (dtype == SpmmDType::kF32 && mr < 16)) return kIsaAvx2;
  return isa;
}

// The dense tiles' code depends on the tile height only.
KernelCache<int, JitGenerator>& dense_code_cache() {
  static auto* cache = new KernelCache<int, JitGenerator>();  // never destroyed: outlives sessions
  return *cache;
}

int mr_slot(int mr) { return mr == 1 ? 0 : mr == 8 ? 1 : mr == 16 ? 2 : mr == 32 ? 3 : 4; }

// Tile heights a layer's kernels are generated for, ascending, by the ISA of
// its code. 4-row f32 bands keep 4 x (mr / lanes) accumulators in registers,
// so they stop at 16 on AVX2 (8 lanes) and at 32 on AVX-512. Height 1 is the
// one-row (M = 1, or a last row) kernel.
// Quads: how many 16-row tiles may take the rows past the last full 64-row
// tile before one 64-row tile is cheaper. 4096 x 4096 90%, 1 thread, Zen 5,
// against one 64-row tile: 4x1 M=8 349 -> 159 us, M=32 372 -> 328 (2 tiles);
// 1x4 M=8 712 -> 515, M=32 734 -> 758; 1-row quads (5 shuffles per
// vpdpbusd on 16 rows) M=8 903-918 -> 690, M=32 910 -> 1165.
int quad_small_tiles(int band_rows) { return band_rows == 4 ? 2 : 1; }

std::vector<int> tile_heights(const SpmmDesc& d, uint32_t code_isa, int group) {
  if (group == 4) return {1, kU8S8QuadSmallTileRows, kU8S8QuadTileRows};
  // (1x4 blocks as pairs, k_block 2: 32-row tiles, a group's index and
  // weight pair per 4 ymm vpmaddwd instead of 2, measured the same as 16 on
  // the BERT shapes, M=128, 70% and 90%, Zen 5 AVX2 code.)
  if (d.dtype == SpmmDType::kU8S8) return {1, kU8S8TileRows};
  if (d.band_rows == 4 && !is_subset(kIsaAvx512, code_isa)) return {1, 8, 16};
  // 1-row bands on AVX-512: 64-row tiles, one K index and weight per 4 zmm
  // FMAs (32: per 2); 768 x 768 90% M=128 141 -> 127 us, 70% 363 -> 312 (Zen 5).
  if (d.band_rows == 1 && is_subset(kIsaAvx512, code_isa)) return {1, 8, 16, 32, 64};
  return {1, 8, 16, 32};
}

std::string heights_text(const std::vector<int>& heights) {  // "{1,8,16,32}" (appends only: GCC 12 -Wrestrict)
  std::string text;
  for (int mr : heights) {
    text.append(text.empty() ? "{" : ",");
    text.append(std::to_string(mr));
  }
  text.append("}");
  return text;
}

// Packed weight bytes per work item's range of row blocks, and the most a
// "small" W has (half an L2: int8 threads may split the M tiles instead, and
// the tiles run in groups; Spmm::run).
constexpr int64_t kRangeWeightBytes = 32 << 10, kSmallWeightBytes = 512 << 10;
// Packed activation bytes per group of M tiles that ranges pass over together.
constexpr int64_t kTileGroupBytes = 512 << 10;
// Packed activations (all tiles) beyond both cores' L2.
constexpr int64_t kLargePackBytes = 2 << 20;

// Bytes of one activation in a packed tile.
int64_t elem_bytes(SpmmDType t, int group) { return t == SpmmDType::kF32 ? 4 : group == 4 ? 1 : 2; }

bool has_post(const SpmmDesc& d, PostOp op) { return std::find(d.post.begin(), d.post.end(), op) != d.post.end(); }

}  // namespace

KernelCacheStats spmm_kernel_cache_stats() {
  KernelCacheStats bands = code_cache().stats();
  const KernelCacheStats dense = dense_code_cache().stats();
  bands.kernels += dense.kernels;
  bands.hits += dense.hits;
  bands.misses += dense.misses;
  return bands;
}

StatusOr<std::shared_ptr<const Spmm>> Spmm::create(SpmmDesc desc, const void* w, int64_t stride_n, int64_t stride_k) {
  if (desc.n <= 0 || desc.k <= 0) return InvalidArgument("spmm: N and K must be positive, got N=", desc.n, " K=", desc.k);
  if (desc.k > (int64_t{1} << 24)) return InvalidArgument("spmm: K=", desc.k, " exceeds 2^24");
  if (w == nullptr) return InvalidArgument("spmm: no weight");
  if (desc.band_rows != 1 && desc.band_rows != 4)
    return InvalidArgument("spmm ", to_string(desc.dtype), ": band_rows must be 1 or 4, got ", desc.band_rows);
  if (desc.k_block != 1 && desc.k_block != 4)
    return InvalidArgument("spmm: k_block must be 1 or 4, got ", desc.k_block);
  if (desc.k_block == 4 && (desc.dtype != SpmmDType::kU8S8 || desc.band_rows != 1))
    return InvalidArgument("spmm: k_block 4 (1x4 blocks) is for u8s8 with band_rows 1, got ", to_string(desc.dtype),
                           " with band_rows ", desc.band_rows);
  if (desc.dtype == SpmmDType::kF32 && desc.out != SpmmOut::kF32)
    return InvalidArgument("spmm f32: output must be f32, got ", to_string(desc.out));
  if (desc.out == SpmmOut::kS32 && desc.post[0] != PostOp::kNone)
    return InvalidArgument("spmm: s32 output takes no post-ops, got ", to_string(desc.post));
  bool ended = false;
  for (PostOp p : desc.post) {
    if (ended && p != PostOp::kNone) return InvalidArgument("spmm: post-op chain has a gap: ", to_string(desc.post));
    ended |= p == PostOp::kNone;
  }

  auto spmm = std::shared_ptr<Spmm>(new Spmm());
  if (desc.layout == SpmmLayout::kDenseTiles) {
    if (desc.dtype != SpmmDType::kU8S8)
      return InvalidArgument("spmm ", to_string(desc.dtype), ": dense tiles are for u8s8 only");
    spmm->desc_ = desc;
    return create_dense(std::move(spmm), w, stride_n, stride_k);
  }
  // With AVX512_VNNI, u8s8 runs on quads (vpdpbusd), which need their own packing.
  const bool quads = desc.dtype == SpmmDType::kU8S8 && may_use(kIsaAvx512Vnni, desc.isa_cap);
  spmm->w_ = desc.dtype == SpmmDType::kF32
                 ? pack_sparse_f32(static_cast<const float*>(w), desc.n, desc.k, stride_n, stride_k, desc.band_rows)
                 : pack_sparse_s8(static_cast<const int8_t*>(w), desc.n, desc.k, stride_n, stride_k, desc.band_rows,
                                  quads ? 4 : 2, desc.k_block);
  desc.pattern_fingerprint = spmm->w_.fingerprint;
  spmm->desc_ = desc;

  const bool f32 = desc.dtype == SpmmDType::kF32;
  const int group = spmm->w_.group;
  const std::string family =
      f32 ? std::string(desc.band_rows == 4 ? "f32_bspmm_" : "f32_spmm_")
          : "u8_s8_s32_bspmm_" + std::to_string(quads ? kU8S8QuadTileRows : kU8S8TileRows) + "x" +
                std::to_string(desc.band_rows) + (spmm->w_.k_block > 1 ? "x4_" : "_");
  // The f32 names list their tile heights: "f32_bspmm_{1,8,16}x4_avx2".
  auto name = [&](uint32_t isa, const char* suffix) {
    std::string n = family;
    if (f32)
      n.append(heights_text(tile_heights(desc, isa, group))).append("x").append(std::to_string(desc.band_rows)).append("_");
    return n.append(suffix);
  };
  const int k_block = spmm->w_.k_block;
  auto loader = [&spmm, &desc, group, k_block](uint32_t isa) {
    return [&spmm, &desc, group, k_block, isa]() -> Status {
      for (int mr : tile_heights(desc, isa, group)) {
        SPARSERT_ASSIGN_OR_RETURN(spmm->code_[mr_slot(mr)],
                                  cached_code({desc.dtype, mr, desc.band_rows, group,
                                               kernel_isa(desc.dtype, group, mr, desc.band_rows, isa), k_block}));
      }
      return Status::OK();
    };
  };
  std::vector<Candidate> candidates;
  if (quads) {  // (the pair kernels cannot run the quad packing; the generic twin can)
    candidates.push_back({kIsaAvx512Vnni, name(kIsaAvx512Vnni, "avx512_vnni"), loader(kIsaAvx512Vnni), ""});
  } else {
    if (!f32)  // listed so `inspect` says why the quads did not run (the ISA check declines it)
      candidates.push_back({kIsaAvx512Vnni,
                            "u8_s8_s32_bspmm_" + std::to_string(kU8S8QuadTileRows) + "x" +
                                std::to_string(desc.band_rows) + (desc.k_block == 4 ? "x4" : "") + "_avx512_vnni",
                            nullptr, "needs the quad packing"});
    candidates.push_back({kIsaAvx512, name(kIsaAvx512, "avx512"), loader(kIsaAvx512), ""});
    candidates.push_back({kIsaAvx2, name(kIsaAvx2, "avx2"), loader(kIsaAvx2), ""});
  }
  spmm->choose_implementation(std::move(candidates), name(kIsaGeneric, "generic"));
  return std::shared_ptr<const Spmm>(std::move(spmm));
}

void Spmm::choose_implementation(std::vector<Candidate> candidates, const std::string& generic_name) {
  const uint32_t have = detected_isa() & desc_.isa_cap;
  for (const Candidate& c : candidates) {
    if (!may_use(c.isa, desc_.isa_cap)) {
      declined_.push_back(c.name + ": isa: needs " + isa_name(c.isa) + ", have " + isa_name(have));
      continue;
    }
    if (!c.load) {
      declined_.push_back(c.name + ": " + c.missing);
      continue;
    }
    const Status loaded = c.load();
    if (loaded.ok()) {
      use_jit_ = true;
      code_isa_ = c.isa;
      impl_name_ = c.name;
      return;
    }
    declined_.push_back(c.name + ": " + loaded.message());
  }
  code_isa_ = kIsaGeneric;
  impl_name_ = generic_name;
}

StatusOr<std::shared_ptr<const Spmm>> Spmm::create_dense(std::shared_ptr<Spmm> spmm, const void* w, int64_t stride_n,
                                                          int64_t stride_k) {
  SpmmDesc& desc = spmm->desc_;
  spmm->dense_ = std::make_shared<const PackedDenseU8S8>(
      pack_dense_u8s8(static_cast<const int8_t*>(w), desc.n, desc.k, stride_n, stride_k));
  desc.pattern_fingerprint = spmm->dense_->fingerprint;
  const PackedDenseU8S8& packed = *spmm->dense_;
  if (dense_u8s8_remainder_on_bands(packed.fixes(), desc.n)) {
    std::vector<int8_t> r(static_cast<size_t>(desc.n * desc.k), 0);  // [N, K]; R has w's sign, |R| <= |w|
    for (int64_t c = 0; c < desc.n; ++c)
      for (int32_t e = packed.fix_begin[static_cast<size_t>(c)]; e < packed.fix_begin[static_cast<size_t>(c + 1)]; ++e)
        r[static_cast<size_t>(c * desc.k + packed.fix_k[static_cast<size_t>(e)])] =
            static_cast<int8_t>(packed.fix_w[static_cast<size_t>(e)]);
    SpmmDesc rd;
    rd.n = desc.n;
    rd.k = desc.k;
    rd.dtype = SpmmDType::kU8S8;
    rd.out = SpmmOut::kS32;
    rd.band_rows = 1;
    rd.isa_cap = desc.isa_cap;
    SPARSERT_ASSIGN_OR_RETURN(spmm->remainder_, Spmm::create(rd, r.data(), desc.k, 1));
  }
  std::vector<Candidate> candidates;
  candidates.push_back({kIsaAvx512, "u8_s8_s32_gemm_avx512", nullptr,
                        "no AVX-512 generator (the AVX2 tiles run; with VNNI, oneDNN's u8s8 is exact and takes dense layers)"});
  candidates.push_back({kIsaAvx2, "u8_s8_s32_gemm_{1..6}x16_avx2", [&spmm]() -> Status {
                          for (int mr = 1; mr <= PackedDenseU8S8::kMaxRows; ++mr) {
                            SPARSERT_ASSIGN_OR_RETURN(
                                spmm->dense_code_[mr - 1],
                                dense_code_cache().get_or_create(mr, [mr] { return generate_u8s8_dense_avx2(mr); }));
                          }
                          return Status::OK();
                        },
                        ""});
  spmm->choose_implementation(std::move(candidates), "u8_s8_s32_gemm_{1..6}x16_generic");
  return std::shared_ptr<const Spmm>(std::move(spmm));
}

Status Spmm::validate(const SpmmRunArgs& a) const {
  const SpmmDesc& d = desc_;
  if (a.m < 0) return InvalidArgument("spmm: M must be >= 0, got ", a.m);
  if (a.m == 0) return Status::OK();
  if ((a.conv == nullptr && a.x == nullptr) || a.y == nullptr) return InvalidArgument("spmm: x and y are required");
  if (a.conv != nullptr) {
    SPARSERT_RETURN_IF_ERROR(validate_conv_rows(*a.conv, d, a.m));
  } else if (a.ldx < d.k) {
    return InvalidArgument("spmm: ldx=", a.ldx, " is less than K=", d.k);
  }
  if (a.y_block > 0) {
    if (d.dtype != SpmmDType::kF32 || a.y_block > 64 || a.y_block_stride < a.m * a.y_block)
      return InvalidArgument("spmm: channel-blocked y needs f32, a block of 1..64 (got ", a.y_block,
                             ") and a block stride of at least M x block (got ", a.y_block_stride, ")");
  } else if (a.ldy < d.n) {
    return InvalidArgument("spmm: ldy=", a.ldy, " is less than N=", d.n);
  }
  if (has_post(d, PostOp::kBias) && a.bias == nullptr) return InvalidArgument("spmm: the bias post-op needs a bias");
  if (has_post(d, PostOp::kResidualAdd) && (a.residual == nullptr || (a.y_block == 0 && a.ld_residual < d.n)))
    return InvalidArgument("spmm: the residual_add post-op needs a residual with ld >= N");
  if (has_post(d, PostOp::kClip) && !(a.clip_min <= a.clip_max))
    return InvalidArgument("spmm: the clip post-op needs clip_min <= clip_max, got ", a.clip_min, " and ", a.clip_max);
  if (d.dtype == SpmmDType::kU8S8 && d.out != SpmmOut::kS32) {
    if (a.w_scales == nullptr || (a.w_scales_count != 1 && a.w_scales_count != d.n))
      return InvalidArgument("spmm: int8 dequantization needs 1 or N=", d.n, " weight scales, got ",
                             a.w_scales == nullptr ? 0 : a.w_scales_count);
  }
  if ((d.out == SpmmOut::kU8 || d.out == SpmmOut::kS8) && !(a.y_scale > 0.f))
    return InvalidArgument("spmm: requantized output needs y_scale > 0, got ", a.y_scale);
  if (a.y_range != nullptr && !(d.dtype == SpmmDType::kU8S8 && d.out == SpmmOut::kF32))
    return InvalidArgument("spmm: y_range is for u8s8 with float output");
  return Status::OK();
}

int64_t Spmm::tile_bytes(int mr) const {
  const int64_t k = (w_.k + w_.k_block - 1) / w_.k_block * w_.k_block;  // (1x4: whole quads / pairs)
  return k * mr * elem_bytes(desc_.dtype, w_.group);
}

std::vector<Spmm::Tile> Spmm::plan_tiles(int64_t m, int64_t* pack_bytes) const {
  std::vector<Tile> tiles;
  int64_t offset = 0;
  auto add = [&](int64_t m0, int mr) {
    tiles.push_back({m0, mr, offset});
    offset += tile_bytes(mr);
  };
  if (desc_.dtype == SpmmDType::kU8S8) {  // full tiles, the last one padded (or the one-row kernel)
    const int rows = w_.group == 4 ? kU8S8QuadTileRows : kU8S8TileRows;
    int64_t m0 = 0;
    if (w_.group == 4) {
      // Quads: 64-row tiles, then the rest in 16-row tiles where that is
      // cheaper (quad_small_tiles).
      for (; m - m0 >= rows; m0 += rows) add(m0, rows);
      const int small = quad_small_tiles(w_.band_rows);
      if (m - m0 > 1 && m - m0 <= small * kU8S8QuadSmallTileRows)
        for (; m0 < m; m0 += kU8S8QuadSmallTileRows) add(m0, kU8S8QuadSmallTileRows);
    }
    for (; m0 < m; m0 += rows) add(m0, m - m0 == 1 ? 1 : rows);
  } else {
    const std::vector<int> heights = tile_heights(desc_, code_isa_, w_.group);
    int64_t m0 = 0;
    for (; m - m0 >= heights.back(); m0 += heights.back()) add(m0, heights.back());
    // The rest: the smallest height that holds it (padded), unless that pads
    // more than a quarter of the tile; then the largest height (> 1) that fits
    // it, and again (37 rows: 32 + 8, not 64).
    while (m > m0) {
      const int64_t rest = m - m0;
      const int fit = *std::find_if(heights.begin(), heights.end(), [&](int h) { return h >= rest; });
      int below = 0;
      for (int h : heights)
        if (h > 1 && h <= rest) below = h;
      const int mr = below == 0 || 4 * (fit - rest) <= fit ? fit : below;
      add(m0, mr);
      m0 += mr;
    }
  }
  *pack_bytes = offset;
  return tiles;
}

void Spmm::pack_tile(const SpmmRunArgs& a, const Tile& t, uint8_t* dst) const {
  const int64_t k = w_.k;
  const int64_t mt = std::min<int64_t>(t.mr, a.m - t.m0);
  if (desc_.dtype == SpmmDType::kF32) {
    float* out = reinterpret_cast<float*>(dst);
    if (mt < t.mr) std::memset(out, 0, sizeof(float) * static_cast<size_t>(k * t.mr));
    if (a.conv != nullptr) {
      pack_conv_rows(*a.conv, k, t.m0, mt, out, t.mr, packing_isa());
      return;
    }
    transpose32(static_cast<const float*>(a.x) + t.m0 * a.ldx, a.ldx, mt, k, out, t.mr, packing_isa());
    return;
  }
  const uint8_t* x = static_cast<const uint8_t*>(a.x) + t.m0 * a.ldx;
  if (w_.group == 4) {  // quads: raw bytes (rows past M: any bytes; their results are dropped)
    if (t.mr == 1) {
      std::memcpy(dst, x, static_cast<size_t>(k));
      if (w_.k_block == 4) std::memset(dst + k, 0, static_cast<size_t>(tile_bytes(1) - k));  // the last quad's dword
      return;
    }
    if (w_.k_block == 4) {
      pack_dense_quads(x, a.ldx, mt, t.mr, dst);
      return;
    }
    const uint8_t* src[kU8S8QuadTileRows];  // (16-row tiles: rows in order)
    for (int p = 0; p < t.mr; ++p)
      src[p] = x + std::min<int64_t>(t.mr == kU8S8QuadTileRows ? u8s8_quad_tile_row(p) : p, mt - 1) * a.ldx;
    pack_u8_rows_to_u8_tile(src, t.mr, k, dst, packing_isa());
    return;
  }
  int16_t* out = reinterpret_cast<int16_t*>(dst);
  if (t.mr == 1) {  // the one-row kernel's tile: x - zero point (pairs of 1x4 blocks: then a 0 to a whole pair)
    const int16_t zp = static_cast<int16_t>(a.x_zero_point);
    for (int64_t c = 0; c < k; ++c) out[c] = static_cast<int16_t>(x[c] - zp);
    if (w_.k_block == 2 && k % 2 != 0) out[k] = 0;
    return;
  }
  if (w_.k_block == 2) {  // dense pairs [K / 2][16][2]; rows past M repeat the last row (their results are dropped)
    const uint8_t* src[kU8S8TileRows];
    for (int p = 0; p < kU8S8TileRows; ++p) src[p] = x + std::min<int64_t>(p, mt - 1) * a.ldx;
    pack_u8_rows_to_s16_pair_tile(src, k, static_cast<int16_t>(a.x_zero_point), out, packing_isa());
    return;
  }
  // Rows past M read a row of zero-point bytes, which pack to 0.
  thread_local std::vector<uint8_t> zp_row;
  const uint8_t zp = static_cast<uint8_t>(a.x_zero_point);
  if (mt < t.mr && (zp_row.size() < static_cast<size_t>(k) || zp_row[0] != zp)) zp_row.assign(static_cast<size_t>(k), zp);
  const uint8_t* src[kU8S8TileRows];
  for (int p = 0; p < kU8S8TileRows; ++p)
    src[p] = kU8S8TileOrder[p] < mt ? x + kU8S8TileOrder[p] * a.ldx : zp_row.data();
  pack_u8_rows_to_s16_tile(src, k, zp, out, packing_isa());
}

void Spmm::pack_dense_quads(const uint8_t* x, int64_t ldx, int64_t mt, int rows, uint8_t* dst) const {
  // tile[q][m][4] = x[m][4q .. 4q + 3]: a 32-bit transpose of the rows' whole
  // quads where they are 4-byte aligned, else byte by byte; the last quad of
  // a K that is not a multiple of 4 padded with zeros (W is zero there).
  const int64_t k = w_.k, whole = k / 4, quads = (k + 3) / 4;
  if (mt < rows) std::memset(dst, 0, static_cast<size_t>(quads * 4 * rows));
  int64_t q0 = 0;
  if (ldx % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 4 == 0) {
    transpose32(x, ldx / 4, mt, whole, dst, rows, packing_isa());
    q0 = whole;
  }
  for (int64_t m = 0; m < mt; ++m)
    for (int64_t c = 4 * q0; c < 4 * quads; ++c)
      dst[c / 4 * 4 * rows + 4 * m + c % 4] = c < k ? x[m * ldx + c] : 0;
}

SpmmTileFn Spmm::kernel_for(int mr) const {
  return code_[mr_slot(mr)] ? code_[mr_slot(mr)]->entry<SpmmTileFn>() : nullptr;
}

void Spmm::compute(const Tile& t, const uint8_t* packed, int64_t block_begin, int64_t block_end, void* acc,
                   const int32_t* zero_point_fix) const {
  const SpmmTileFn jit = use_jit_ ? kernel_for(t.mr) : nullptr;
  auto band_calls = [&](int64_t blk, int64_t ch, uint8_t* out) {
    const int64_t g0 = w_.segment_begin[static_cast<size_t>(blk * w_.chunks + ch)];
    SpmmTileArgs args;
    args.x = packed + t.pack_offset;
    args.groups_per_band = w_.groups_per_band.data() + w_.count_offset(blk, ch);
    args.kidx = w_.kidx.data() + g0 * w_.kidx_per_group();
    args.values = desc_.dtype == SpmmDType::kF32 ? static_cast<const void*>(w_.values_f32.data() + g0 * w_.band_rows)
                  : w_.group == 4 ? static_cast<const void*>(w_.values_s8x4.data() + g0 * w_.band_rows)
                                  : static_cast<const void*>(w_.values_s16x2.data() + g0 * w_.band_rows);
    args.out = out;
    args.bands = w_.bands_in_block(blk);
    args.accumulate = ch > 0;
    // Quads: the zero point comes out with the last chunk's store.
    args.zero_point_fix = zero_point_fix != nullptr && ch == w_.chunks - 1
                              ? zero_point_fix + blk * w_.block_bands * w_.band_rows
                              : nullptr;
    if (desc_.dtype == SpmmDType::kU8S8 && w_.band_rows == 1 && t.mr == 1) {  // the one-row kernels' running sums
      thread_local std::vector<int32_t> sums;
      const int64_t groups = w_.segment_begin[static_cast<size_t>(blk * w_.chunks + ch + 1)] - g0;
      if (sums.size() < static_cast<size_t>(groups + 1)) sums.resize(static_cast<size_t>(groups + 1));
      args.scratch = sums.data();
    }
    if (jit != nullptr) {
      jit(&args);
    } else if (desc_.dtype == SpmmDType::kF32) {
      spmm_f32_tile_generic(&args, t.mr, w_.band_rows);
    } else if (w_.k_block == 4) {
      spmm_u8s8_kquad_tile_generic(&args, t.mr);  // (any tile height)
    } else if (w_.k_block == 2) {
      spmm_u8s8_kpair_tile_generic(&args, t.mr);
    } else if (w_.group == 4) {
      spmm_u8s8_quad_tile_generic(&args, t.mr, w_.band_rows);
    } else {
      spmm_u8s8_tile_generic(&args, t.mr, w_.band_rows);
    }
  };
  // Tiles of several rows: K chunk by K chunk over the range's blocks, so a
  // chunk of the tile is read once, not once per block (the range's
  // accumulators come and go instead): M=128, K=3072, 1 thread (Zen 5), f32
  // 90% 1x1 bands 1636-1649 -> 1603-1623 us, int8 1x4 quads 70% 390-392 ->
  // 380-386, 4x1 quads 1-2%. One-row tiles stream W in its stored (block,
  // chunk) order instead: chunk by chunk jumped around W, and the 1x4 one-row
  // kernel at M=1 (4096^2 90%) went 136-139 -> 148-149 us.
  uint8_t* out = static_cast<uint8_t*>(acc);
  if (t.mr == 1) {
    for (int64_t blk = block_begin; blk < block_end; ++blk) {
      for (int64_t ch = 0; ch < w_.chunks; ++ch) band_calls(blk, ch, out);
      out += w_.bands_in_block(blk) * w_.band_rows * t.mr * 4;
    }
    return;
  }
  for (int64_t ch = 0; ch < w_.chunks; ++ch) {
    out = static_cast<uint8_t*>(acc);
    for (int64_t blk = block_begin; blk < block_end; ++blk) {
      band_calls(blk, ch, out);
      out += w_.bands_in_block(blk) * w_.band_rows * t.mr * 4;
    }
  }
}

Status Spmm::run_dense(const SpmmRunArgs& a, int threads) const {
  const PackedDenseU8S8& w = *dense_;
  constexpr int kCols = PackedDenseU8S8::kCols, kTileRows = PackedDenseU8S8::kMaxRows;
  // A work item: up to 48 rows (8 tiles) x 4 groups (64 channels), in K
  // chunks of 256 quads. Its 12 KiB of accumulators stay in L1, and so do a
  // group's weights for the chunk (16 KiB, reused by the 8 tiles) and a tile's
  // activations (6 KiB); the item's 48 rows of the chunk (48 KiB) come from L2
  // once per group. (Whole-K items read a K = 3072 group, 48 KiB, from L2.)
  constexpr int64_t kItemRows = 8 * kTileRows, kItemGroups = 4, kLdAcc = kItemGroups * kCols, kChunkQuads = 256;
  const uint8_t* x = static_cast<const uint8_t*>(a.x);
  int64_t ldx = a.ldx;
  // The tiles read whole K quads: rows of a K that is not a multiple of 4 are
  // copied with zeros after them (W1 is zero there too).
  thread_local std::vector<uint8_t> padded;
  if (w.k % 4 != 0) {
    ldx = w.quads * 4;
    uint8_t* p = grow_aligned_scratch(padded, static_cast<size_t>(a.m * ldx));
    for (int64_t m = 0; m < a.m; ++m) {
      std::memcpy(p + m * ldx, x + m * a.ldx, static_cast<size_t>(w.k));
      std::memset(p + m * ldx + w.k, 0, static_cast<size_t>(ldx - w.k));
    }
    x = p;
  }
  // R on the 1-row bands, all rows at once: [M, N] s32.
  thread_local std::vector<uint8_t> remainder_buffer;
  const int32_t* remainder = nullptr;
  if (remainder_) {
    SpmmRunArgs ra;
    ra.m = a.m;
    ra.x = a.x;
    ra.ldx = a.ldx;
    ra.y = grow_aligned_scratch(remainder_buffer, sizeof(int32_t) * static_cast<size_t>(a.m * w.n));
    ra.ldy = w.n;
    ra.x_zero_point = a.x_zero_point;
    SPARSERT_RETURN_IF_ERROR(remainder_->run(ra, threads));
    remainder = static_cast<const int32_t*>(ra.y);
  }
  const int64_t row_blocks = (a.m + kItemRows - 1) / kItemRows;
  const int64_t group_blocks = (w.groups + kItemGroups - 1) / kItemGroups;
  auto run_item = [&](int64_t item) {
    thread_local std::vector<uint8_t> acc_buffer;
    int32_t* acc = reinterpret_cast<int32_t*>(grow_aligned_scratch(acc_buffer, sizeof(int32_t) * kItemRows * kLdAcc));
    const int64_t m0 = item / group_blocks * kItemRows, mt = std::min(kItemRows, a.m - m0);
    const int64_t g0 = item % group_blocks * kItemGroups, g1 = std::min(w.groups, g0 + kItemGroups);
    for (int64_t q0 = 0; q0 < w.quads; q0 += kChunkQuads) {
      const int64_t quads = std::min(kChunkQuads, w.quads - q0);
      for (int64_t g = g0; g < g1; ++g)
        for (int64_t r = 0; r < mt; r += kTileRows) {
          const int mr = static_cast<int>(std::min<int64_t>(kTileRows, mt - r));
          const uint8_t* xt = x + (m0 + r) * ldx + 4 * q0;
          const int8_t* wt = w.group(g) + q0 * kCols * 4;
          int32_t* out = acc + r * kLdAcc + (g - g0) * kCols;
          if (use_jit_)
            dense_code_[mr - 1]->entry<DenseU8S8TileFn>()(xt, ldx, wt, quads, out, kLdAcc * 4, q0 > 0);
          else
            dense_u8s8_tile_generic(xt, ldx, wt, quads, out, kLdAcc * 4, q0 > 0, mr);
        }
    }
    const int64_t n0 = g0 * kCols, count = std::min(g1 * kCols, w.n) - n0;
    finish_dense_u8s8(w, x + m0 * ldx, ldx, mt, a.x_zero_point, n0, count, acc, kLdAcc,
                      remainder ? remainder + m0 * w.n + n0 : nullptr, w.n);
    EpilogueTile tile{acc, 0, m0, mt, n0, count};
    tile.ld_acc = kLdAcc;
    spmm_epilogue(desc_, a, tile);
  };
  const int64_t items = row_blocks * group_blocks;
  if (threads <= 1) {
    for (int64_t i = 0; i < items; ++i) run_item(i);
    return Status::OK();
  }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (int64_t i = 0; i < items; ++i) run_item(i);
  return Status::OK();
}

Status Spmm::run(const SpmmRunArgs& a, int threads) const {
  SPARSERT_RETURN_IF_ERROR(validate(a));
  if (a.y_range != nullptr) a.y_range[0] = a.y_range[1] = 0.f;
  if (a.m == 0) return Status::OK();
  if (dense_) return run_dense(a, threads);
  int64_t pack_bytes = 0;
  std::vector<Tile> tiles = plan_tiles(a.m, &pack_bytes);

  // Work items: range of row blocks x tile, cut at equal shares of groups
  // (not rows), so skewed sparsity still balances over threads. Ranges hold
  // about kRangeWeightBytes of packed W, and the items run range by range
  // with the tiles inside: a range's weights come from memory once and stay
  // in L1/L2 for the other tiles. (Tile by tile, a W larger than L2 streamed
  // from L3 or DRAM once per tile: BERT-base's f32 weights, 67 MB at 90%,
  // never stay in L3. Unstructured 90% f32 BERT, 1 thread on Zen 5: 40.5 ->
  // 33 ms; 32 KiB measured against 16 and 64 KiB and against whole-W ranges;
  // the int8 models were unchanged within noise.)
  const int64_t tiles_n = static_cast<int64_t>(tiles.size());
  // int8 W that fits in half an L2, with a whole number of tiles per thread:
  // each thread packs its own tiles and runs every range over them, so no
  // barrier between packing and the product and no imbalance from ranges
  // (the weights, read by both threads, are small). Dynamic int8 BERT 90%
  // 4x1, 2 threads: 6.77-6.95 -> 6.51-6.75 ms, QDQ ~2% (Zen 5); f32 (4x
  // larger W) was 1-3% slower this way.
  // So do a convolution's tiles of a small W when they are more than L2s
  // hold (the 3x3 layers' implicit im2col is 9x their input: ResNet-50's
  // first, 56 x 56 x 64 channels, packs 7.2 MiB), tile by tile as the threads
  // come free: packing them all first sent them to L3 and back. ResNet-50
  // 90%, 2 threads (Zen 5): its 3x3 x 64 layers 532 / 355 -> 405 / 316 us, the
  // model 9.3-9.6 -> 9.0-9.1 ms; 6-10% while the second vCPU was shared.
  const bool small_w = w_.packed_bytes() <= kSmallWeightBytes;
  const bool conv_by_tile = a.conv != nullptr && pack_bytes > kLargePackBytes;
  const bool by_tile =
      threads > 1 && small_w && ((desc_.dtype == SpmmDType::kU8S8 && tiles_n % threads == 0) || conv_by_tile);
  const int64_t for_threads = threads <= 1 || by_tile ? 1 : 4 * threads;  // (a thread's unit is a range: below)
  const int64_t for_cache = tiles_n > 1 ? (w_.packed_bytes() + kRangeWeightBytes - 1) / kRangeWeightBytes : 1;
  const int64_t ranges = std::max<int64_t>(1, std::min<int64_t>(std::max(for_threads, for_cache), w_.blocks));
  std::vector<int64_t> cut(static_cast<size_t>(ranges + 1), w_.blocks);
  cut[0] = 0;
  // A block costs its groups plus a store per band and K chunk.
  auto cost_before = [&](int64_t blk) {
    return w_.segment_begin[static_cast<size_t>(blk * w_.chunks)] + blk * w_.block_bands * w_.chunks;
  };
  const int64_t total = cost_before(w_.blocks - 1) + w_.segment_begin.back() -
                        w_.segment_begin[static_cast<size_t>((w_.blocks - 1) * w_.chunks)] +
                        w_.bands_in_block(w_.blocks - 1) * w_.chunks;
  for (int64_t c = 1; c < ranges; ++c) {
    const int64_t target = total * c / ranges;
    int64_t b = cut[c - 1];
    while (b < w_.blocks && cost_before(b) < target) ++b;
    cut[c] = b;
  }
  int64_t max_range_bands = 0;
  for (int64_t c = 0; c < ranges; ++c) max_range_bands = std::max(max_range_bands, (cut[c + 1] - cut[c]) * w_.block_bands);
  const size_t acc_bytes = static_cast<size_t>(max_range_bands * w_.band_rows * tiles.front().mr * 4);

  // Quads multiply raw u8: per output channel x_zero_point x its weight sum
  // comes out in the kernels' last store (rows padded to whole bands).
  thread_local std::vector<int32_t> fix_buffer;
  const int32_t* zero_point_fix = nullptr;
  if (w_.group == 4 && a.x_zero_point != 0) {
    fix_buffer.assign(static_cast<size_t>(w_.bands * w_.band_rows), 0);
    for (int64_t r = 0; r < w_.n; ++r) fix_buffer[static_cast<size_t>(r)] = a.x_zero_point * w_.row_sums[static_cast<size_t>(r)];
    zero_point_fix = fix_buffer.data();
  }

  // Tile groups, where W is small (it is then read from L2 once per group):
  // consecutive tiles with up to kTileGroupBytes of packed activations, run
  // range by range as above, group after group, so the group's tiles stay in
  // L2 while the ranges pass over them. (With every tile in one group, batch
  // 8's 16 tiles, 3 MiB of FFN2 input, came from L3 for every range: dynamic
  // int8 BERT batch 8, FFN2 1673 -> 1555 us a layer. A large W, f32, keeps
  // one group: streaming it once per group was 9% slower than the tiles from
  // L3, f32 768 x 3072 90% M=128.)
  std::vector<int64_t> group_begin = {0};
  int64_t group_bytes = 0;
  for (int64_t i = 0; i < tiles_n; ++i) {
    const int64_t bytes = tile_bytes(tiles[static_cast<size_t>(i)].mr);
    if (i > 0 && small_w && group_bytes + bytes > kTileGroupBytes) {
      group_begin.push_back(i);
      group_bytes = 0;
    }
    group_bytes += bytes;
  }
  group_begin.push_back(tiles_n);
  const int64_t groups = static_cast<int64_t>(group_begin.size() - 1);
  const int64_t units = groups * ranges;
  // One thread packs a group's tiles just before its ranges, into one
  // group-sized buffer: they are in L2 when the kernels read them. (Every
  // tile packed first, batch 8's 3 MiB of FFN2 input went out to L3 and came
  // back per group.)
  if (threads <= 1) {
    int64_t most = 0;
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t base = tiles[static_cast<size_t>(group_begin[static_cast<size_t>(g)])].pack_offset;
      for (int64_t ti = group_begin[static_cast<size_t>(g)]; ti < group_begin[static_cast<size_t>(g + 1)]; ++ti) {
        Tile& t = tiles[static_cast<size_t>(ti)];
        t.pack_offset -= base;
        most = std::max(most, t.pack_offset + tile_bytes(t.mr));
      }
    }
    pack_bytes = most;
  }
  thread_local std::vector<uint8_t> pack_buffer;
  uint8_t* packed = grow_aligned_scratch(pack_buffer, static_cast<size_t>(pack_bytes));
  auto run_item = [&](int64_t item) {
    thread_local std::vector<uint8_t> acc_buffer;
    void* acc = grow_aligned_scratch(acc_buffer, acc_bytes);
    const Tile& t = tiles[static_cast<size_t>(item % tiles_n)];
    const int64_t c = item / tiles_n;
    if (cut[c] == cut[c + 1]) return;
    compute(t, packed, cut[c], cut[c + 1], acc, zero_point_fix);
    const int64_t n0 = cut[c] * w_.block_bands * w_.band_rows;
    const int64_t n1 = std::min(cut[c + 1] * w_.block_bands * w_.band_rows, w_.n);
    spmm_epilogue(desc_, a, {acc, t.mr, t.m0, std::min<int64_t>(t.mr, a.m - t.m0), n0, n1 - n0});
  };
  auto run_unit = [&](int64_t u) {  // one range over one group's tiles
    const int64_t g = u / ranges, r = u % ranges;
    for (int64_t ti = group_begin[static_cast<size_t>(g)]; ti < group_begin[static_cast<size_t>(g + 1)]; ++ti)
      run_item(r * tiles_n + ti);
  };
  if (threads <= 1) {
    for (int64_t g = 0; g < groups; ++g) {
      for (int64_t ti = group_begin[static_cast<size_t>(g)]; ti < group_begin[static_cast<size_t>(g + 1)]; ++ti)
        pack_tile(a, tiles[static_cast<size_t>(ti)], packed + tiles[static_cast<size_t>(ti)].pack_offset);
      for (int64_t r = 0; r < ranges; ++r) run_unit(g * ranges + r);
    }
    return Status::OK();
  }
  if (by_tile) {  // (above)
    auto tile_with_all_ranges = [&](int64_t ti) {
      pack_tile(a, tiles[static_cast<size_t>(ti)], packed + tiles[static_cast<size_t>(ti)].pack_offset);
      for (int64_t r = 0; r < ranges; ++r) run_item(r * tiles_n + ti);
    };
    if (tiles_n % threads == 0) {
#pragma omp parallel for num_threads(threads) schedule(static)
      for (int64_t ti = 0; ti < tiles_n; ++ti) tile_with_all_ranges(ti);
    } else {
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
      for (int64_t ti = 0; ti < tiles_n; ++ti) tile_with_all_ranges(ti);
    }
    return Status::OK();
  }
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < tiles_n; ++i) pack_tile(a, tiles[static_cast<size_t>(i)], packed + tiles[static_cast<size_t>(i)].pack_offset);
    // A thread takes a range with all its tiles: the range's weights come
    // into one core's L2, not both. 128 x 3072 x 768 f32 90%: 404 -> 311 us;
    // BERT 2 threads, unstructured 90% f32 17.3 -> 15.8 ms, 4x1 90% f32 12.1
    // -> 11.3, int8 unchanged (Zen 5). (A 768 x 768 f32 70% SpMM alone, 12
    // ranges, balances better by single items: 170 vs 197 us.)
#pragma omp for schedule(dynamic, 1)
    for (int64_t u = 0; u < units; ++u) run_unit(u);
  }
  return Status::OK();
}

}  // namespace sparsert::jit
