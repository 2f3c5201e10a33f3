// Every SpMM variant (jit/spmm/spmm_kernels.inc) against the reference, over
// random shapes with tails, sparsities 0..100%, block patterns, every post-op
// chain, thread counts and ISA caps. Variants of an ISA this machine lacks skip
// with a message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "base/fast_math.h"
#include "jit/jit_generator.h"
#include "jit/spmm/gen_spmm_x86.h"
#include "jit/spmm/spmm_transpose.h"
#include "tests/jit/spmm_tester.h"

namespace sparsert::jit {
namespace {

struct Variant {
  const char* name;
  SpmmDType dtype;
  SpmmLayout layout;
  int band_rows;
  uint32_t isa;
  int k_block;
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

const Variant kVariants[] = {
#define SPARSERT_SPMM_KERNEL(name, dtype, layout, band_rows, isa, k_block) \
  {#name, SpmmDType::dtype, SpmmLayout::layout, band_rows, isa, k_block},
#include "jit/spmm/spmm_kernels.inc"
#undef SPARSERT_SPMM_KERNEL
};

class SpmmVariant : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!may_use(GetParam().isa, default_isa_cap()))
      GTEST_SKIP() << GetParam().name << ": this CPU (or SPARSERT_ISA) lacks " << isa_name(GetParam().isa);
  }
  bool f32() const { return GetParam().dtype == SpmmDType::kF32; }
  SpmmTester tester() const {
    SpmmTester t;
    t.dtype(GetParam().dtype).layout(GetParam().layout).band_rows(GetParam().band_rows).k_block(GetParam().k_block);
    t.out(f32() ? SpmmOut::kF32 : SpmmOut::kS32).pattern(GetParam().band_rows, GetParam().k_block);
    return t;
  }
  // The variant runs exactly: the cap pins the implementation, whose name ends in the ISA's.
  void run(const SpmmTester& t) const {
    const std::string impl = t.Test(GetParam().isa);
    const std::string suffix = "_" + isa_name(GetParam().isa);
    EXPECT_TRUE(impl.size() > suffix.size() && impl.compare(impl.size() - suffix.size(), suffix.size(), suffix) == 0)
        << impl << " does not end in " << suffix;
  }
};

TEST_P(SpmmVariant, shapes_with_tails) {
  const int64_t ms[] = {1, 5, 8, 9, 16, 17, 31, 32, 33, 37, 64, 100};
  const int64_t nks[][2] = {{1, 1}, {3, 7}, {13, 129}, {16, 16}, {64, 33}, {37, 200}};
  uint32_t seed = 1;
  for (int64_t m : ms)
    for (const auto& nk : nks) run(tester().m(m).n(nk[0]).k(nk[1]).sparsity(0.6).seed(seed++));
}

TEST_P(SpmmVariant, sparsities) {
  for (double s : {0.0, 0.5, 0.9, 0.99, 1.0}) run(tester().m(40).n(48).k(96).sparsity(s));
}

TEST_P(SpmmVariant, block_patterns) {
  run(tester().m(33).n(64).k(80).pattern(1, 1).sparsity(0.8));
  run(tester().m(33).n(64).k(80).pattern(4, 1).sparsity(0.9));
  run(tester().m(33).n(64).k(80).pattern(1, 4).sparsity(0.9));
  run(tester().m(33).n(64).k(80).pattern(1, 16).sparsity(0.75));
}

TEST_P(SpmmVariant, all_zero_rows_and_empty_matrix) {
  // Whole rows of W zero (a band with no groups) and an all-zero W.
  run(tester().m(20).n(40).k(64).pattern(8, 64).sparsity(0.5));
  run(tester().m(20).n(40).k(64).sparsity(1.0));
}

// K cut into chunks (u8s8 pairs: 768, quads: 1024, on 4-row bands 2048, f32: 256, dense tiles: 1024) whose
// accumulators carry over, an odd last chunk included.
TEST_P(SpmmVariant, long_k_in_chunks) {
  run(tester().m(13).n(40).k(2051).sparsity(0.5));
  if (!f32()) run(tester().m(7).n(21).k(1029).sparsity(0.3).out(SpmmOut::kF32).post({PostOp::kBias}));
}

TEST_P(SpmmVariant, weight_given_as_k_by_n) { run(tester().m(19).n(24).k(40).w_is_kn(true)); }

TEST_P(SpmmVariant, threads) {
  for (int threads : {1, 2, 3}) run(tester().m(70).n(101).k(77).sparsity(0.7).threads(threads));
  run(tester().m(1).n(257).k(300).sparsity(0.9).threads(3));
  // A whole number of M tiles per thread: small int8 W split by tiles (each
  // thread packs its own), f32 by ranges.
  for (int threads : {2, 4})
    run(tester().m(128).n(101).k(300).sparsity(0.7).threads(threads).out(SpmmOut::kF32).post({PostOp::kBias}));
}

// Packed activations over 512 KiB with a small W: the M tiles run in groups
// (int8 quads at K = 4096: 256 KiB a tile; f32: 1 MiB, a group each), range
// by range within a group; 1 and 2 threads (3 tiles: not split by tiles).
TEST_P(SpmmVariant, tiles_in_groups) {
  for (int threads : {1, 2})
    run(tester().m(150).n(40).k(4096).sparsity(0.8).threads(threads).out(SpmmOut::kF32).post({PostOp::kBias}));
}

// One activation row: per K chunk, band lists shorter and longer than 16
// (the AVX-512 f32 kernel's masked gather round vs its scalar loop), one and
// three K chunks (accumulating), lengths spread by the random sparsity.
TEST_P(SpmmVariant, one_row_lists_short_and_long) {
  uint32_t seed = 7;
  for (double s : {0.5, 0.85, 0.88, 0.9, 0.95})
    for (int64_t k : {128, 300}) run(tester().m(1).n(200).k(k).sparsity(s).seed(seed++));
}

// Y rows a multiple of 4 KiB apart (N = 1024): the epilogue stages the
// transposed accumulators (f32 and s32 outputs, post-ops after the copy).
TEST_P(SpmmVariant, output_rows_4k_apart) {
  run(tester().m(70).n(1024).k(40).sparsity(0.8).post({PostOp::kBias, PostOp::kRelu}).out(SpmmOut::kF32));
  if (!f32()) run(tester().m(70).n(1024).k(40).sparsity(0.8).out(SpmmOut::kS32));
}

// A W of more than 32 KiB packed runs range by range of row blocks (each
// range over every M tile, its epilogue per range), on one thread too; the
// last M tile is padded, and a residual + bias epilogue sees each range once.
TEST_P(SpmmVariant, weight_in_several_ranges_over_several_tiles) {
  for (int threads : {1, 2})
    run(tester().m(100).n(333).k(300).sparsity(0.5).threads(threads).out(SpmmOut::kF32)
            .post({PostOp::kBias, PostOp::kResidualAdd}));
}

TEST_P(SpmmVariant, post_op_chains) {
  const PostOpChain chains[] = {
      {PostOp::kBias},
      {PostOp::kBias, PostOp::kRelu},
      {PostOp::kBias, PostOp::kGeluErf},
      {PostOp::kBias, PostOp::kGeluTanh},
      {PostOp::kBias, PostOp::kResidualAdd},
      {PostOp::kBias, PostOp::kResidualAdd, PostOp::kRelu},
      {PostOp::kGeluErf, PostOp::kResidualAdd},
      {PostOp::kBias, PostOp::kClip},
      {PostOp::kResidualAdd, PostOp::kClip, PostOp::kBias},
  };
  for (const PostOpChain& c : chains) {
    if (f32()) {
      run(tester().m(35).n(29).k(65).post(c));
    } else {
      run(tester().m(35).n(29).k(65).post(c).out(SpmmOut::kF32));
      run(tester().m(35).n(29).k(65).post(c).out(SpmmOut::kU8).per_channel(false));
      run(tester().m(35).n(29).k(65).post(c).out(SpmmOut::kS8));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, SpmmVariant, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant>& info) { return std::string(info.param.name); });

// A convolution's rows (SpmmConvRows: the tile packing gathers the implicit
// im2col from a blocked image) into channel-blocked Y: the 1x1 fast path and
// the gathered windows with strides, dilations, asymmetric padding, blocks 4 /
// 8 / 16, channel counts that leave lanes of Y's last block unwritten, pixel
// ranges that start inside the image, and tiles across the image; on every
// f32 kernel (jit/spmm/spmm_kernels.inc) the machine can run.
TEST(Spmm, convolution_rows_into_blocked_output_on_every_f32_kernel) {
  struct Case {
    int64_t block, channels, ih, iw, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, first, n;
    int threads;
  };
  const Case cases[] = {
      {16, 32, 7, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 40, 1},   // 1x1 stride 1: strided transposes
      {8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 8, 1},      // one pixel
      {16, 16, 9, 11, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 33, 1},  // 3x3 pad 1
      {8, 24, 13, 10, 3, 3, 2, 2, 1, 1, 1, 0, 0, 1, 0, 17, 2},  // stride 2, asymmetric pads
      {4, 12, 12, 12, 5, 3, 1, 2, 2, 1, 2, 1, 3, 0, 0, 9, 1},   // 5x3, dilation 2 rows, block 4
      {16, 48, 14, 14, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 64, 2}, // 1x1 stride 2 (downsample): gathered
      {8, 8, 10, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 37, 20, 1},  // from pixel 37
      {16, 16, 20, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 24, 2}, // 400 pixels: several tiles
      {16, 64, 45, 45, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 16, 2}, // 4.7 MB of tiles: threads take them one by one
  };
  const PostOpChain chains[] = {{},
                                {PostOp::kBias, PostOp::kResidualAdd, PostOp::kRelu},
                                {PostOp::kBias, PostOp::kGeluErf},
                                {PostOp::kBias, PostOp::kClip}};
  for (const Variant& v : kVariants) {
    if (v.dtype != SpmmDType::kF32) continue;
    if (!may_use(v.isa, default_isa_cap())) {
      std::printf("[  SKIP    ] %s: this CPU (or SPARSERT_ISA) lacks %s\n", v.name, isa_name(v.isa).c_str());
      continue;
    }
    SCOPED_TRACE(v.name);
    int i = 0;
    for (const Case& c : cases) {
      SpmmConvRows r;
      r.block = c.block;
      r.ih = c.ih, r.iw = c.iw, r.kh = c.kh, r.kw = c.kw, r.sh = c.sh, r.sw = c.sw, r.dh = c.dh, r.dw = c.dw;
      r.pt = c.pt, r.pl = c.pl;
      r.oh = (c.ih + c.pt + c.pb - c.dh * (c.kh - 1) - 1) / c.sh + 1;
      r.ow = (c.iw + c.pl + c.pr - c.dw * (c.kw - 1) - 1) / c.sw + 1;
      r.first_pixel = c.first;
      // Each case with its chain and with bias + residual + ReLU (the epilogue's register path for whole blocks).
      for (const PostOpChain& post : {chains[i % 4], chains[1]}) {
        SpmmTester t;
        t.band_rows(v.band_rows).pattern(v.band_rows, 1).conv(r, c.channels).n(c.n).y_block(c.block).post(post);
        const std::string impl = t.sparsity(0.8).threads(c.threads).Test(v.isa);
        EXPECT_NE(impl.find(isa_name(v.isa)), std::string::npos) << impl;
      }
      ++i;
    }
  }
}

TEST(Spmm, int8_extremes_are_exact) {
  // x = 255, w = -128 at every non-zero: int16 pair sums would saturate with
  // vpmaddubsw; every int8 variant must stay exact.
  for (const Variant& v : kVariants) {
    if (v.dtype != SpmmDType::kU8S8) continue;
    if (!may_use(v.isa, default_isa_cap())) {
      std::printf("[ SKIPPED  ] %s: this CPU (or SPARSERT_ISA) lacks %s\n", v.name, isa_name(v.isa).c_str());
      continue;
    }
    SCOPED_TRACE(v.name);
    for (double sparsity : {0.0, 0.5})
      SpmmTester().dtype(v.dtype).layout(v.layout).band_rows(v.band_rows).out(SpmmOut::kS32).m(17).n(12).k(301).sparsity(sparsity)
          .extremes(true).Test(v.isa);
  }
}

// The quad layout's plain C++ micro-kernel only runs when its JIT twin cannot
// be generated (the generic cap packs pairs), so it is compared with the JIT
// A quad kernel call's arguments for one (block, K chunk) segment of p (as
// Spmm::compute makes them, out left to the caller): the zero-point fix at
// the last chunk, and `sums` sized to exactly the segment's groups + 1 (the
// one-row kernels' running sums, SpmmTileArgs::scratch).
SpmmTileArgs quad_segment_args(const PackedSparse& p, int64_t blk, int64_t ch, const uint8_t* tile,
                               const int32_t* fix, std::vector<int32_t>& sums) {
  const int64_t g0 = p.segment_begin[static_cast<size_t>(blk * p.chunks + ch)];
  SpmmTileArgs args;
  args.x = tile;
  args.groups_per_band = p.groups_per_band.data() + p.count_offset(blk, ch);
  args.kidx = p.kidx.data() + g0 * p.kidx_per_group();
  args.values = p.values_s8x4.data() + g0 * p.band_rows;
  args.bands = p.bands_in_block(blk);
  args.accumulate = ch > 0;
  args.zero_point_fix = ch == p.chunks - 1 ? fix + blk * p.block_bands * p.band_rows : nullptr;
  sums.assign(static_cast<size_t>(p.segment_begin[static_cast<size_t>(blk * p.chunks + ch + 1)] - g0 + 1), 0);
  args.scratch = sums.data();
  return args;
}

// A quad kernel (`code`, tile height mr) against its generic twin over every
// segment of p (W as n x k row-major `w`, activation rows `rows` packed into
// `tile`), with a random zero-point fix: equal accumulators per block, and
// the twin's first row of each block at the last activation equal to the
// plain sum less the fix.
void expect_quad_kernel_matches_twin(const PackedSparse& p, const std::vector<int8_t>& w,
                                     const std::vector<uint8_t>& rows, const std::vector<uint8_t>& tile, int mr,
                                     const JitGenerator& code, void (*twin_fn)(const SpmmTileArgs*, int),
                                     std::mt19937& rng) {
  const int64_t k = p.k;
  const size_t acc_size = static_cast<size_t>(p.block_bands * p.band_rows * mr);
  std::vector<int32_t> fix(static_cast<size_t>(p.bands * p.band_rows));
  for (auto& v : fix) v = static_cast<int32_t>(rng() % 100000) - 50000;
  for (int64_t blk = 0; blk < p.blocks; ++blk) {
    std::vector<int32_t> jit(acc_size, 7), twin(acc_size, 7);
    for (int64_t ch = 0; ch < p.chunks; ++ch) {
      std::vector<int32_t> sums;
      SpmmTileArgs args = quad_segment_args(p, blk, ch, tile.data(), fix.data(), sums);
      args.out = jit.data();
      code.entry<SpmmTileFn>()(&args);
      args.out = twin.data();
      twin_fn(&args, mr);
    }
    EXPECT_EQ(jit, twin) << "block " << blk;
    const int64_t r = blk * p.block_bands * p.band_rows, m = mr - 1;
    int32_t want = -fix[static_cast<size_t>(r)];
    for (int64_t c = 0; c < k; ++c) want += w[static_cast<size_t>(r * k + c)] * rows[static_cast<size_t>(m * k + c)];
    EXPECT_EQ(twin[static_cast<size_t>(m)], want) << "block " << blk;
  }
}

// micro-kernels here, call by call over every (block, K chunk) segment, on
// tiles packed by both the register and the scalar byte transposes, with the
// zero-point fix subtracted at the last chunk.
TEST(Spmm, quad_micro_kernels_match_their_generic_twin) {
  if (!may_use(kIsaAvx512Vnni, default_isa_cap())) {
    GTEST_SKIP() << "quad kernels: this CPU (or SPARSERT_ISA) lacks avx512_vnni";
  }
  std::mt19937 rng(21);
  for (int band_rows : {1, 4}) {
    // 2 K chunks (1-row bands: 1024 and 76; 4-row: 2048 and 52), 3 row blocks of 16 bands at 4 rows
    const int64_t n = 4 * 37, k = band_rows == 4 ? 2100 : 1100;
    ASSERT_EQ(pack_sparse_s8(std::vector<int8_t>(static_cast<size_t>(n * k), 1).data(), n, k, k, 1, band_rows, 4).chunks, 2);
    std::vector<int8_t> w(static_cast<size_t>(n * k), 0);
    for (auto& v : w)
      if (rng() % 4 == 0) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    const PackedSparse p = pack_sparse_s8(w.data(), n, k, k, 1, band_rows, 4);
    ASSERT_EQ(p.group, 4);
    for (int mr : {1, kU8S8QuadSmallTileRows, kU8S8QuadTileRows}) {
      SCOPED_TRACE("band_rows " + std::to_string(band_rows) + " mr " + std::to_string(mr));
      std::vector<uint8_t> rows(static_cast<size_t>(mr * k));
      for (auto& v : rows) v = static_cast<uint8_t>(rng());
      std::vector<uint8_t> tile(static_cast<size_t>(mr * k)), scalar_tile(tile.size());
      if (mr == 1) {
        tile = rows;
      } else {  // 64 rows in u8s8_quad_tile_row order, 16 in order
        const uint8_t* src[kU8S8QuadTileRows];
        for (int q = 0; q < mr; ++q) src[q] = rows.data() + (mr == kU8S8QuadTileRows ? u8s8_quad_tile_row(q) : q) * k;
        pack_u8_rows_to_u8_tile(src, mr, k, tile.data(), kIsaAvx512);
        pack_u8_rows_to_u8_tile(src, mr, k, scalar_tile.data(), kIsaGeneric);
        EXPECT_EQ(tile, scalar_tile) << "16x16 register transposes vs scalar";
      }
      auto code = mr == 1   ? generate_u8s8_quad_spmv_avx512_vnni(band_rows)
                  : mr == 16 ? generate_u8s8_quad16_bspmm_avx512_vnni(band_rows)
                             : generate_u8s8_quad_bspmm_avx512_vnni(band_rows);
      ASSERT_TRUE(code.ok()) << code.status().to_string();
      auto twin = band_rows == 4 ? +[](const SpmmTileArgs* a, int mr) { spmm_u8s8_quad_tile_generic(a, mr, 4); }
                                 : +[](const SpmmTileArgs* a, int mr) { spmm_u8s8_quad_tile_generic(a, mr, 1); };
      expect_quad_kernel_matches_twin(p, w, rows, tile, mr, **code, twin, rng);
    }
  }
}

// The 1x4 quad kernel (k_block 4) and its generic twin, call by call, on a
// W of 1x4 blocks with zeros inside them and a K that ends in a partial quad;
// the tile as Spmm packs it ([K / 4][64][4], zero-padded), and the plain sum
// for one row and activation.
TEST(Spmm, one_by_four_quad_kernel_matches_its_generic_twin) {
  if (!may_use(kIsaAvx512Vnni, default_isa_cap())) {
    GTEST_SKIP() << "1x4 quad kernel: this CPU (or SPARSERT_ISA) lacks avx512_vnni";
  }
  std::mt19937 rng(23);
  const int64_t n = 37, k = 1203, quads = (k + 3) / 4;  // 2 K chunks (1024 and 179), 3 row blocks of 16 bands
  std::vector<int8_t> w(static_cast<size_t>(n * k), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t q = 0; q < quads; ++q)
      if (rng() % 3 == 0)
        for (int64_t c = 4 * q; c < std::min(k, 4 * q + 4); ++c)
          w[static_cast<size_t>(r * k + c)] = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);  // 0 too
  const PackedSparse p = pack_sparse_s8(w.data(), n, k, k, 1, 1, 4, 4);
  ASSERT_EQ(p.k_block, 4);
  ASSERT_EQ(p.chunks, 2);
  for (int mr : {1, kU8S8QuadSmallTileRows, kU8S8QuadTileRows}) {
  SCOPED_TRACE("mr " + std::to_string(mr));
  std::vector<uint8_t> rows(static_cast<size_t>(mr * k));
  for (auto& v : rows) v = static_cast<uint8_t>(rng());
  // 64 or 16 rows: [K / 4][mr][4]; one row: the row, its last quad padded.
  std::vector<uint8_t> tile(static_cast<size_t>(quads * 4 * mr), 0);
  for (int64_t m = 0; m < mr; ++m)
    for (int64_t c = 0; c < k; ++c) tile[static_cast<size_t>(c / 4 * 4 * mr + 4 * m + c % 4)] = rows[static_cast<size_t>(m * k + c)];
  auto code = mr == 1 ? generate_u8s8_quad_spmv_avx512_vnni(1, 4) : generate_u8s8_kquad_bspmm_avx512_vnni(mr);
  ASSERT_TRUE(code.ok()) << code.status().to_string();
  expect_quad_kernel_matches_twin(p, w, rows, tile, mr, **code, spmm_u8s8_kquad_tile_generic, rng);
  }
  EXPECT_FALSE(generate_u8s8_quad_spmv_avx512_vnni(4, 4).ok()) << "k_block 4 is for 1-row bands";
}

// The 1x4 pair kernels (k_block 2: AVX2 ymm, AVX-512 zmm) and their generic
// twin, call by call over every (block, K chunk) segment, on a W of 1x4
// blocks with zeros inside them (-128 included) and a K that ends in a
// partial pair; the tile ([K / 2][16][2] int16 of x - zero point) built here
// and by pack_u8_rows_to_s16_pair_tile under each ISA, and the plain sum for
// one output and activation row. Spmm picks these kernels for 1x4 W where
// there is no VNNI.
TEST(Spmm, one_by_four_pair_kernels_match_their_generic_twin) {
  std::mt19937 rng(29);
  const int64_t n = 37, k = 1601, pairs = (k + 1) / 2;  // 3 K chunks (768, 768, 65), 2 row blocks of 32 bands
  std::vector<int8_t> w(static_cast<size_t>(n * k), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t q = 0; q < (k + 3) / 4; ++q)
      if (rng() % 3 == 0)
        for (int64_t c = 4 * q; c < std::min(k, 4 * q + 4); ++c)
          w[static_cast<size_t>(r * k + c)] = static_cast<int8_t>(rng() % 5 == 0 ? -128 : static_cast<int>(rng() % 256) - 128);
  const PackedSparse p = pack_sparse_s8(w.data(), n, k, k, 1, 1, 2, 4);
  ASSERT_EQ(p.k_block, 2);
  ASSERT_EQ(p.kidx_per_group(), 1);
  ASSERT_EQ(p.chunks, 3);
  const int16_t zp = 3;
  for (int mr : {1, kU8S8TileRows}) {
    SCOPED_TRACE("mr " + std::to_string(mr));
    std::vector<uint8_t> rows(static_cast<size_t>(mr * k));
    for (auto& v : rows) v = static_cast<uint8_t>(rng() % 4 == 0 ? 255 : rng());
    std::vector<int16_t> tile(static_cast<size_t>(pairs * 2 * mr), 0);
    for (int64_t m = 0; m < mr; ++m)
      for (int64_t c = 0; c < k; ++c)
        tile[static_cast<size_t>(c / 2 * 2 * mr + 2 * m + c % 2)] = static_cast<int16_t>(rows[static_cast<size_t>(m * k + c)] - zp);
    if (mr == kU8S8TileRows) {
      const uint8_t* src[kU8S8TileRows];
      for (int m = 0; m < mr; ++m) src[m] = rows.data() + m * k;
      for (uint32_t isa : {kIsaAvx2, kIsaGeneric}) {
        std::vector<int16_t> packed(tile.size(), 7);
        pack_u8_rows_to_s16_pair_tile(src, k, zp, packed.data(), isa);
        EXPECT_EQ(packed, tile) << isa_name(isa);
      }
    }
    for (uint32_t isa : {kIsaAvx2, kIsaAvx512}) {
      if (!may_use(isa, default_isa_cap())) {
        std::printf("[ SKIPPED  ] 1x4 pair kernel %s: this CPU (or SPARSERT_ISA) lacks it\n", isa_name(isa).c_str());
        continue;
      }
      auto code = mr == 1 ? generate_u8s8_spmv_avx2(1, 2)
                          : isa == kIsaAvx2 ? generate_u8s8_kpair_bspmm_avx2() : generate_u8s8_kpair_bspmm_avx512();
      ASSERT_TRUE(code.ok()) << code.status().to_string();
      for (int64_t blk = 0; blk < p.blocks; ++blk) {
        std::vector<int32_t> jit(static_cast<size_t>(p.block_bands * mr), 7), twin(jit);
        for (int64_t ch = 0; ch < p.chunks; ++ch) {
          const int64_t g0 = p.segment_begin[static_cast<size_t>(blk * p.chunks + ch)];
          std::vector<int32_t> sums(static_cast<size_t>(p.segment_begin[static_cast<size_t>(blk * p.chunks + ch + 1)] - g0 + 1));
          SpmmTileArgs args;
          args.x = tile.data();
          args.groups_per_band = p.groups_per_band.data() + p.count_offset(blk, ch);
          args.kidx = p.kidx.data() + g0;
          args.values = p.values_s16x2.data() + g0;
          args.bands = p.bands_in_block(blk);
          args.accumulate = ch > 0;
          args.scratch = sums.data();
          args.out = jit.data();
          (*code)->entry<SpmmTileFn>()(&args);
          args.out = twin.data();
          spmm_u8s8_kpair_tile_generic(&args, mr);
        }
        EXPECT_EQ(jit, twin) << isa_name(isa) << " block " << blk;
        const int64_t r = blk * p.block_bands, m = mr - 1;
        int32_t want = 0;
        for (int64_t c = 0; c < k; ++c)
          want += w[static_cast<size_t>(r * k + c)] * (rows[static_cast<size_t>(m * k + c)] - zp);
        EXPECT_EQ(twin[static_cast<size_t>(m)], want) << "block " << blk;
      }
    }
  }
  EXPECT_FALSE(generate_u8s8_spmv_avx2(4, 2).ok()) << "k_block 2 is for 1-row bands";
  for (uint32_t isa : {kIsaAvx2, kIsaAvx512}) {
    if (!may_use(isa, default_isa_cap())) continue;
    SpmmDesc d;
    d.n = n;
    d.k = k;
    d.dtype = SpmmDType::kU8S8;
    d.out = SpmmOut::kS32;
    d.band_rows = 1;
    d.k_block = 4;
    d.isa_cap = isa;
    auto spmm = Spmm::create(d, w.data(), k, 1);
    ASSERT_TRUE(spmm.ok()) << spmm.status().to_string();
    EXPECT_EQ((*spmm)->impl_name(), "u8_s8_s32_bspmm_16x1x4_" + isa_name(isa));
    EXPECT_EQ((*spmm)->weights().k_block, 2);
  }
}

// W (n x k, row-major) on the dense tiles under each ISA this CPU has, s32
// output, against the reference; returns the AVX2 (or generic) product.
std::vector<int32_t> expect_dense_tiles_exact(const std::vector<int8_t>& w, int64_t n, int64_t k,
                                              const std::vector<uint8_t>& x, int64_t m, int32_t x_zero_point,
                                              int threads) {
  std::vector<int32_t> first;
  for (uint32_t isa : {kIsaAvx2, kIsaGeneric}) {
    if (!may_use(isa, default_isa_cap())) {
      std::printf("[ SKIPPED  ] dense tiles %s: this CPU (or SPARSERT_ISA) lacks it\n", isa_name(isa).c_str());
      continue;
    }
    SpmmDesc d;
    d.n = n;
    d.k = k;
    d.dtype = SpmmDType::kU8S8;
    d.out = SpmmOut::kS32;
    d.layout = SpmmLayout::kDenseTiles;
    d.isa_cap = isa;
    auto spmm = Spmm::create(d, w.data(), k, 1);
    EXPECT_TRUE(spmm.ok()) << spmm.status().to_string();
    if (!spmm.ok()) return {};
    std::vector<int32_t> y(static_cast<size_t>(m * n)), want(y.size());
    SpmmRunArgs a;
    a.m = m;
    a.x = x.data();
    a.ldx = k;
    a.ldy = n;
    a.x_zero_point = x_zero_point;
    a.y = y.data();
    EXPECT_TRUE((*spmm)->run(a, threads).ok());
    a.y = want.data();
    spmm_reference(d, w.data(), k, 1, a);
    EXPECT_EQ(y, want) << isa_name(isa) << " zero point " << x_zero_point;
    if (first.empty()) first = y;
  }
  return first;
}

// The dense tiles keep a weight pair in W1 exactly when |w0| + |w1| <= 128
// (255 * 128 fits int16) and move the rest to the per-column remainder; at
// x = 255 with zero point 0 and 255 every product is at its extreme.
TEST(Spmm, dense_tiles_split_exactly_the_pairs_that_could_saturate) {
  const int64_t n = 18, k = 10, m = 7;
  // Pairs (K 2j, 2j + 1) of channel 0..7; the others are random full range.
  const int pairs[][2] = {{64, 64}, {64, 65}, {-128, 0}, {127, 1}, {-128, 1}, {-100, 100}, {127, 127}, {0, -128}};
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  std::mt19937 rng(5);
  for (auto& v : w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  for (int p = 0; p < 8; ++p)
    for (int64_t j = 0; j < k / 2; ++j) {
      w[static_cast<size_t>(p * k + 2 * j)] = static_cast<int8_t>(pairs[p][0]);
      w[static_cast<size_t>(p * k + 2 * j + 1)] = static_cast<int8_t>(pairs[p][1]);
    }
  const PackedDenseU8S8 packed = pack_dense_u8s8(w.data(), n, k, k, 1);
  // Channel by channel: safe, one cut, safe, safe, one cut, both cut (equal magnitudes), both cut, safe.
  const int fixes_per_pair[] = {0, 1, 0, 0, 1, 2, 2, 0};
  for (int p = 0; p < 8; ++p)
    EXPECT_EQ(packed.fix_begin[static_cast<size_t>(p + 1)] - packed.fix_begin[static_cast<size_t>(p)],
              fixes_per_pair[p] * k / 2)
        << "channel " << p;
  EXPECT_EQ(count_dense_u8s8_fixes(w.data(), 8, k, k, 1), 4 * k / 2);  // pairs, not entries
  std::vector<uint8_t> x(static_cast<size_t>(m * k), 255);
  for (int64_t i = 0; i < k; ++i) x[static_cast<size_t>(6 * k + i)] = static_cast<uint8_t>(rng());
  const std::vector<int32_t> y = expect_dense_tiles_exact(w, n, k, x, m, 0, 1);
  if (!y.empty()) {
    EXPECT_EQ(y[0], 255 * 128 * k / 2) << "channel 0 at x = 255";
  }
  expect_dense_tiles_exact(w, n, k, x, m, 255, 1);
}

// Weights as per-tensor quantization leaves them (normal, few pairs over
// 128): the remainder is added entry by entry, not on the bands; uniform
// full-range weights (the variant tests) take the bands.
TEST(Spmm, dense_tiles_with_a_small_remainder_add_it_per_entry) {
  const int64_t n = 40, k = 300, m = 53;
  std::mt19937 rng(9);
  std::normal_distribution<double> normal(0.0, 35.0);
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (auto& v : w) v = static_cast<int8_t>(std::clamp(std::lround(normal(rng)), -128L, 127L));
  const PackedDenseU8S8 packed = pack_dense_u8s8(w.data(), n, k, k, 1);
  EXPECT_GT(packed.fixes(), 0);
  EXPECT_FALSE(dense_u8s8_remainder_on_bands(packed.fixes(), n)) << packed.fixes() << " entries";
  std::vector<uint8_t> x(static_cast<size_t>(m * k));
  for (auto& v : x) v = static_cast<uint8_t>(rng());
  expect_dense_tiles_exact(w, n, k, x, m, 117, 2);
}

// The epilogue is built twice (baseline and AVX2, spmm_epilogue_body.inc) and
// must give the same floats: a fused GELU that differs by one ulp from the
// unfused graph can flip the next layer's dynamic int8 rounding. int8
// accumulators are exact in every kernel, so whole outputs compare bit for bit.
// The register transposes (16x16 zmm, 8x8 ymm, byte tiles) against the plain
// definition, on every ISA the machine has, with tails in both dimensions.
TEST(SpmmTranspose, register_blocks_match_the_definition_on_every_isa) {
  std::mt19937 rng(17);
  std::vector<uint32_t> isas = {kIsaGeneric};
  for (uint32_t isa : {uint32_t{kIsaAvx2}, uint32_t{kIsaAvx512}}) {
    if (may_use(isa, default_isa_cap()))
      isas.push_back(isa);
    else
      std::printf("[  SKIP    ] transposes on %s: this CPU (or SPARSERT_ISA) lacks it\n", isa_name(isa).c_str());
  }
  for (uint32_t isa : isas)
    for (int64_t rows : {1, 7, 8, 15, 16, 17, 24, 33, 64})
      for (int64_t cols : {1, 8, 9, 16, 23, 32, 40, 64, 70}) {
        const int64_t src_ld = cols + 3, dst_ld = rows + 5;
        std::vector<uint32_t> src(static_cast<size_t>(rows * src_ld)), dst(static_cast<size_t>(cols * dst_ld), 0xDEADBEEF);
        for (auto& v : src) v = static_cast<uint32_t>(rng());
        transpose32(src.data(), src_ld, rows, cols, dst.data(), dst_ld, isa);
        for (int64_t c = 0; c < cols; ++c)
          for (int64_t r = 0; r < dst_ld; ++r)
            ASSERT_EQ(dst[c * dst_ld + r], r < rows ? src[r * src_ld + c] : 0xDEADBEEF)
                << isa_name(isa) << " rows " << rows << " cols " << cols << " r " << r << " c " << c;
      }
  for (uint32_t isa : isas)  // rows at offsets (any order, repeated, and zero rows)
    for (int64_t rows : {1, 7, 8, 16, 17, 33, 64})
      for (int64_t cols : {1, 8, 9, 16, 23, 32}) {
        const int64_t dst_ld = rows + 5;
        std::vector<float> src(static_cast<size_t>(64 * cols));
        for (auto& v : src) v = static_cast<float>(1 + rng() % 1000);
        std::vector<int64_t> offsets(static_cast<size_t>(rows));
        for (int64_t r = 0; r < rows; ++r)
          offsets[static_cast<size_t>(r)] = r % 5 == 3 ? -1 : (r * 29 + rng() % 3) % 64 * cols;
        std::vector<float> dst(static_cast<size_t>(cols * dst_ld), -1.f);
        transpose32_gather(src.data(), offsets.data(), rows, cols, dst.data(), dst_ld, isa);
        for (int64_t c = 0; c < cols; ++c)
          for (int64_t r = 0; r < dst_ld; ++r) {
            const int64_t o = r < rows ? offsets[static_cast<size_t>(r)] : 0;
            ASSERT_EQ(dst[c * dst_ld + r], r >= rows ? -1.f : o < 0 ? 0.f : src[static_cast<size_t>(o + c)])
                << isa_name(isa) << " gathered rows " << rows << " cols " << cols << " r " << r << " c " << c;
          }
      }
  for (uint32_t isa : isas)
    for (int tile_rows : {kU8S8QuadTileRows, 16})
      for (int64_t k : {1, 15, 16, 17, 48, 77}) {
        std::vector<uint8_t> rows(static_cast<size_t>(64 * k));
        for (auto& v : rows) v = static_cast<uint8_t>(rng());
        const uint8_t* src[kU8S8QuadTileRows];
        for (int p = 0; p < tile_rows; ++p) src[p] = rows.data() + ((p * 37) % 64) * k;  // any row order
        std::vector<uint8_t> tile(static_cast<size_t>(tile_rows * k));
        pack_u8_rows_to_u8_tile(src, tile_rows, k, tile.data(), isa);
        for (int64_t c = 0; c < k; ++c)
          for (int p = 0; p < tile_rows; ++p)
            ASSERT_EQ(tile[c * tile_rows + p], src[p][c])
                << isa_name(isa) << " tile rows " << tile_rows << " k " << k << " c " << c << " p " << p;
      }
}

TEST(Spmm, epilogue_builds_agree_bit_for_bit) {
  if (!may_use(kIsaAvx2, default_isa_cap())) GTEST_SKIP() << "no AVX2: one epilogue build only";
  const int64_t m = 37, n = 70, k = 93;
  std::mt19937 rng(11);
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (auto& v : w) v = rng() % 3 ? 0 : static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  std::vector<uint8_t> x(static_cast<size_t>(m * k));
  for (auto& v : x) v = static_cast<uint8_t>(rng());
  std::vector<float> bias(static_cast<size_t>(n)), residual(static_cast<size_t>(m * n)), w_scales(static_cast<size_t>(n));
  std::normal_distribution<float> normal;
  for (auto& v : bias) v = normal(rng);
  for (auto& v : residual) v = normal(rng);
  for (auto& v : w_scales) v = 0.002f + 0.01f * std::abs(normal(rng));
  std::vector<float> w_f32(w.size()), x_f32(x.size());
  for (size_t i = 0; i < w.size(); ++i) w_f32[i] = 0.01f * w[i];
  for (size_t i = 0; i < x.size(); ++i) x_f32[i] = 0.02f * (x[i] - 120);
  // The builds: AVX-512 (where the machine has it), AVX2, baseline (last).
  std::vector<uint32_t> isas = {kIsaAvx2, kIsaGeneric};
  if (may_use(kIsaAvx512, default_isa_cap()))
    isas.insert(isas.begin(), kIsaAvx512);
  else
    std::printf("[  SKIP    ] the AVX-512 epilogue: this CPU (or SPARSERT_ISA) lacks it\n");
  // Chains whose every step runs in registers (4 vectors at a time; n = 70
  // leaves a tail for the per-op passes) and one with GELU's tanh form (passes only).
  const PostOpChain chains[] = {{PostOp::kBias, PostOp::kGeluErf},
                                {PostOp::kBias, PostOp::kGeluTanh},
                                {PostOp::kBias, PostOp::kResidualAdd, PostOp::kRelu},
                                {PostOp::kResidualAdd, PostOp::kGeluErf, PostOp::kBias, PostOp::kRelu}};
  auto run = [&](uint32_t isa, SpmmDType dtype, SpmmOut out, const PostOpChain& chain, std::vector<uint8_t>* y) {
    SpmmDesc d;
    d.n = n;
    d.k = k;
    d.dtype = dtype;
    d.out = out;
    d.band_rows = 4;
    d.post = chain;
    d.isa_cap = isa;
    auto spmm = dtype == SpmmDType::kF32 ? Spmm::create(d, w_f32.data(), k, 1) : Spmm::create(d, w.data(), k, 1);
    ASSERT_TRUE(spmm.ok()) << spmm.status().to_string();
    y->assign(static_cast<size_t>(m * n * 4), 0);
    SpmmRunArgs a;
    a.m = m;
    a.x = dtype == SpmmDType::kF32 ? static_cast<const void*>(x_f32.data()) : x.data();
    a.ldx = k;
    a.y = y->data();
    a.ldy = n;
    a.bias = bias.data();
    a.residual = residual.data();
    a.ld_residual = n;
    if (dtype == SpmmDType::kU8S8) {
      a.x_zero_point = 120;
      a.x_scale = 0.03f;
      a.w_scales = w_scales.data();
      a.w_scales_count = n;
      a.y_scale = 0.04f;
      a.y_zero_point = 100;
    }
    ASSERT_TRUE(spmm.value()->run(a, 1).ok());
  };
  for (const PostOpChain& chain : chains) {
    // u8s8: the products are exact, so every build's output must be the baseline's bytes.
    for (SpmmOut out : {SpmmOut::kF32, SpmmOut::kU8, SpmmOut::kS8}) {
      SCOPED_TRACE(to_string(chain) + " -> " + to_string(out));
      std::vector<std::vector<uint8_t>> ys(isas.size());
      for (size_t b = 0; b < isas.size(); ++b) run(isas[b], SpmmDType::kU8S8, out, chain, &ys[b]);
      for (size_t b = 0; b + 1 < ys.size(); ++b)
        EXPECT_TRUE(ys[b] == ys.back()) << "the " << isa_name(isas[b]) << " and baseline epilogues differ";
    }
    // f32: the builds' products differ (FMA), so each build's chain is checked
    // on its own product: the plain scalar steps on the output without post-ops.
    for (uint32_t isa : isas) {
      SCOPED_TRACE(to_string(chain) + " f32 on " + isa_name(isa));
      std::vector<uint8_t> got, raw;
      run(isa, SpmmDType::kF32, SpmmOut::kF32, chain, &got);
      run(isa, SpmmDType::kF32, SpmmOut::kF32, PostOpChain{}, &raw);
      std::vector<float> want(static_cast<size_t>(m * n));
      std::memcpy(want.data(), raw.data(), raw.size());
      for (int64_t r = 0; r < m; ++r)
        for (int64_t c = 0; c < n; ++c) {
          float& v = want[static_cast<size_t>(r * n + c)];
          for (PostOp op : chain) {
            if (op == PostOp::kBias) v += bias[static_cast<size_t>(c)];
            if (op == PostOp::kResidualAdd) v += residual[static_cast<size_t>(r * n + c)];
            if (op == PostOp::kRelu) v = std::max(v, 0.f);
            if (op == PostOp::kGeluErf) v = (v * (1.f + fast::erf_f32(v / 1.41421356237309505f))) * 0.5f;
            if (op == PostOp::kGeluTanh) fast::gelu_tanh_in_place(&v, 1);
          }
        }
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size()), 0) << "the chain's floats differ from the plain steps'";
    }
  }
}

TEST(Spmm, rejects_bad_descriptors_and_arguments) {
  const float w[4] = {1, 0, 0, 2};
  SpmmDesc d;
  d.n = 2;
  d.k = 2;
  d.isa_cap = default_isa_cap();
  EXPECT_FALSE(Spmm::create(SpmmDesc{}, w, 2, 1).ok());
  SpmmDesc bad = d;
  bad.out = SpmmOut::kU8;
  auto st = Spmm::create(bad, w, 2, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("output must be f32"), std::string::npos) << st.status().message();
  bad = d;
  bad.band_rows = 3;
  st = Spmm::create(bad, w, 2, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("band_rows must be 1 or 4, got 3"), std::string::npos) << st.status().message();
  bad = d;
  bad.k_block = 2;
  st = Spmm::create(bad, w, 2, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("k_block must be 1 or 4, got 2"), std::string::npos) << st.status().message();
  bad = d;
  bad.k_block = 4;  // f32
  st = Spmm::create(bad, w, 2, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("k_block 4 (1x4 blocks) is for u8s8 with band_rows 1, got f32"), std::string::npos)
      << st.status().message();
  const int8_t w8[4] = {1, 0, 0, 2};
  bad.dtype = SpmmDType::kU8S8;
  bad.out = SpmmOut::kS32;
  bad.band_rows = 4;
  st = Spmm::create(bad, w8, 2, 1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("with band_rows 4"), std::string::npos) << st.status().message();
  bad = d;
  bad.post = {PostOp::kNone, PostOp::kRelu};
  EXPECT_FALSE(Spmm::create(bad, w, 2, 1).ok());

  d.post = {PostOp::kBias};
  auto spmm = Spmm::create(d, w, 2, 1);
  ASSERT_TRUE(spmm.ok());
  float x[2] = {1, 1}, y[2];
  SpmmRunArgs a;
  a.m = 1;
  a.x = x;
  a.ldx = 2;
  a.y = y;
  a.ldy = 2;
  Status missing_bias = (*spmm)->run(a, 1);
  EXPECT_FALSE(missing_bias.ok());
  EXPECT_NE(missing_bias.message().find("needs a bias"), std::string::npos);
  a.ldx = 1;
  EXPECT_FALSE((*spmm)->run(a, 1).ok());
  a.ldx = 2;
  a.m = 1;
  float bias[2] = {0, 0};
  a.bias = bias;
  // Convolution rows: K = taps x a multiple of the block, pixels inside the output.
  float image[8] = {};
  SpmmConvRows rows;
  rows.x = image;
  rows.block = 2;
  rows.ih = rows.iw = rows.oh = rows.ow = 2;
  a.conv = &rows;
  EXPECT_TRUE((*spmm)->run(a, 1).ok());
  rows.first_pixel = 4;
  Status outside = (*spmm)->run(a, 1);
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.message().find("pixels 4 .. 5 are outside the 2x2 output"), std::string::npos) << outside.message();
  rows.first_pixel = 0;
  rows.block = 4;
  Status block = (*spmm)->run(a, 1);
  ASSERT_FALSE(block.ok());
  EXPECT_NE(block.message().find("K=2 must be 1x1 taps x a multiple of the channel block 4"), std::string::npos)
      << block.message();
  a.conv = nullptr;
  a.y_block = 2;
  a.y_block_stride = 1;
  Status stride = (*spmm)->run(a, 1);
  ASSERT_FALSE(stride.ok());
  EXPECT_NE(stride.message().find("block stride of at least M x block (got 1)"), std::string::npos) << stride.message();
  a.y_block = 0;
  a.m = 0;
  EXPECT_TRUE((*spmm)->run(a, 1).ok()) << "M = 0 is an empty product, not an error";
}

TEST(Spmm, equal_layers_share_code_and_descriptors_hash_by_content) {
  if (!may_use(kIsaAvx2, default_isa_cap())) GTEST_SKIP() << "no AVX2: no generated code to share";
  std::vector<float> w(64 * 32, 0.f);
  for (size_t i = 0; i < w.size(); i += 3) w[i] = 1.f;
  SpmmDesc d;
  d.n = 64;
  d.k = 32;
  d.isa_cap = kIsaAvx2;
  auto a = Spmm::create(d, w.data(), 32, 1);
  const KernelCacheStats before = spmm_kernel_cache_stats();
  auto b = Spmm::create(d, w.data(), 32, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  const KernelCacheStats after = spmm_kernel_cache_stats();
  EXPECT_EQ(after.kernels, before.kernels) << "a second equal layer generated code";
  EXPECT_GT(after.hits, before.hits);
  EXPECT_EQ((*a)->desc(), (*b)->desc());
  EXPECT_EQ((*a)->desc().hash(), (*b)->desc().hash());
  std::vector<float> w2 = w;
  w2[1] = 5.f;  // another non-zero position: another fingerprint
  auto c = Spmm::create(d, w2.data(), 32, 1);
  ASSERT_TRUE(c.ok());
  EXPECT_NE((*a)->desc().pattern_fingerprint, (*c)->desc().pattern_fingerprint);
  EXPECT_NE((*a)->desc().to_string().find("n=64 k=32 dtype=f32"), std::string::npos) << (*a)->desc().to_string();
}

TEST(Spmm, declined_implementations_say_why) {
  std::vector<float> w(16, 1.f);
  SpmmDesc d;
  d.n = 4;
  d.k = 4;
  d.isa_cap = kIsaGeneric;
  auto s = Spmm::create(d, w.data(), 4, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->impl_name(), "f32_spmm_{1,8,16,32}x1_generic");
  ASSERT_EQ((*s)->declined().size(), 2u);
  EXPECT_NE((*s)->declined()[1].find("isa: needs avx2"), std::string::npos) << (*s)->declined()[1];
  d.band_rows = 4;
  s = Spmm::create(d, w.data(), 4, 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->impl_name(), "f32_bspmm_{1,8,16}x4_generic");
}

TEST(SpmmWeights, packing_counts_and_4x1_detection) {
  // 8 x 6, 4x1 blocks: rows 0-3 non-zero at columns 1 and 4; rows 4-7 empty.
  std::vector<int8_t> w(48, 0);
  for (int r = 0; r < 4; ++r) {
    w[r * 6 + 1] = static_cast<int8_t>(r + 1);
    w[r * 6 + 4] = static_cast<int8_t>(-r - 1);
  }
  const PackedSparse p = pack_sparse_s8(w.data(), 8, 6, 6, 1, 4);
  EXPECT_EQ(p.nnz, 8);
  EXPECT_EQ(p.bands, 2);
  EXPECT_EQ(p.groups_per_band, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(p.kidx, (std::vector<int32_t>{1, 4}));
  EXPECT_EQ(p.values_s16x2[2], static_cast<int32_t>((3u & 0xffff) | (static_cast<uint32_t>(static_cast<uint16_t>(-3)) << 16)));
  EXPECT_DOUBLE_EQ(fraction_of_zeros_in_4x1_blocks(w.data(), 8, 6, 6, 1), 1.0);
  w[5 * 6 + 2] = 9;  // one stray weight breaks one block of the empty band
  EXPECT_LT(fraction_of_zeros_in_4x1_blocks(w.data(), 8, 6, 6, 1), 1.0);
  EXPECT_NEAR(p.density(), 8.0 / 48.0, 1e-12);
}

TEST(SpmmWeights, f32_four_row_bands_store_each_column_once_for_four_rows) {
  // 6 x 5 (N not a multiple of 4): band 0 = rows 0-3 needs columns 0 and 3
  // (column 3 only in row 2: the band stores zeros for rows 0, 1, 3); band 1 =
  // rows 4-5 plus two padding rows needs column 4.
  std::vector<float> w(30, 0.f);
  w[0 * 5 + 0] = 1.f;
  w[1 * 5 + 0] = 2.f;
  w[2 * 5 + 3] = 3.f;
  w[5 * 5 + 4] = 4.f;
  const PackedSparse p = pack_sparse_f32(w.data(), 6, 5, 5, 1, 4);
  EXPECT_EQ(p.nnz, 4);
  EXPECT_EQ(p.bands, 2);
  EXPECT_EQ(p.groups_per_band, (std::vector<int32_t>{2, 1}));
  EXPECT_EQ(p.kidx, (std::vector<int32_t>{0, 3, 4}));
  EXPECT_EQ(p.values_f32, (std::vector<float>{1, 2, 0, 0, 0, 0, 3, 0, 0, 4, 0, 0}));
}

}  // namespace
}  // namespace sparsert::jit
