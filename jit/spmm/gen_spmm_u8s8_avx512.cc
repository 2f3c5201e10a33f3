// u8s8 band kernels on AVX-512 (contract: spmm_microkernel.h).
//
// Without VNNI (Skylake-X class): the AVX2 kernel's pairs on zmm. Per group
// the two K rows of the int16 tile are interleaved by vpunpck{l,h}wd (ymm; the
// tile order puts m 0..7 in the low and 8..15 in the high result) and joined
// by vinserti32x8 into one zmm of 16 (x[ka], x[kb]) pairs in m order; each
// band row then takes vpmaddwd + vpaddd against its broadcast weight pair.
// int16 x int16 pair sums cannot overflow s32: exact for all u8/s8. Groups
// are unrolled into independent accumulator sets (2 for 4-row bands, 4 for
// 1-row bands) summed at the band's end.
//
// With AVX512_VNNI: quads (below). A vpdpwssd version of the pair kernel
// measured 81 us against the quads' 45 us (4x1 90%, 128 x 768 x 768, Zen 5),
// so it was dropped.
#include "jit/spmm/gen_spmm_tile_regs.h"
#include "jit/spmm/gen_spmm_x86.h"
#include "jit/spmm/spmm_microkernel.h"

namespace sparsert::jit {
namespace {

using namespace Xbyak;
using namespace Xbyak::util;

// s32 accumulator sets Zmm(set * per_set + i), set < sets (a power of 2),
// summed into set 0 by a pairwise tree.
void sum_sets(JitGenerator& g, int sets, int per_set) {
  for (int width = sets; width > 1; width /= 2)
    for (int s = 0; s < width / 2; ++s)
      for (int i = 0; i < per_set; ++i)
        g.vpaddd(Zmm(s * per_set + i), Zmm(s * per_set + i), Zmm((s + width / 2) * per_set + i));
}

class U8S8BspmmAvx512 : public JitGenerator {
 public:
  explicit U8S8BspmmAvx512(int band_rows)
      : JitGenerator("u8_s8_s32_bspmm_16x" + std::to_string(band_rows) + "_avx512"), rows_(band_rows) {}

 protected:
  void generate() override {
    constexpr int kRowShift = 5;  // one K row of the int16 tile: 16 x 2 bytes
    const TileRegs t;
    const int sets = rows_ == 4 ? 2 : 4;  // unrolled groups, one accumulator set each
    const int value_bytes = 4 * rows_;   // a group's weight pairs, one per band row
    auto acc = [&](int set, int r) { return Zmm(set * rows_ + r); };
    // Group u of an iteration (set = u; the tail uses set 0): pairs in Zmm(8 + u).
    auto group = [&](int u, int set) {
      const Reg64 a = u % 2 == 0 ? rax : rsi, b = u % 2 == 0 ? rdx : rdi;
      movsxd(a, dword[t.kidx + 8 * u]);
      movsxd(b, dword[t.kidx + 8 * u + 4]);
      shl(a, kRowShift);
      shl(b, kRowShift);
      const Ymm lo(8 + u), hi(12 + u);
      vmovdqu(hi, ptr[t.x + a]);
      vpunpcklwd(lo, hi, ptr[t.x + b]);
      vpunpckhwd(hi, hi, ptr[t.x + b]);
      const Zmm pairs(8 + u);
      vinserti32x8(pairs, pairs, hi, 1);
      for (int r = 0; r < rows_; ++r) {
        const Zmm wv(16 + (u * rows_ + r) % 8), product(24 + (u * rows_ + r) % 8);
        vpbroadcastd(wv, dword[t.values + value_bytes * u + 4 * r]);
        vpmaddwd(product, pairs, wv);
        vpaddd(acc(set, r), acc(set, r), product);
      }
    };
    t.enter(*this);  // rdi (the argument pointer) is free from here on
    Label band_loop, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    for (int i = rows_; i < sets * rows_; ++i) vpxord(Zmm(i), Zmm(i), Zmm(i));
    t.load_or_zero<Zmm>(*this, rows_, true);
    movsxd(rcx, dword[t.counts]);
    t.group_loops(*this, rcx, sets, 8, value_bytes, [&](int u) { group(u, u); }, store);
    L(store);
    sum_sets(*this, sets, rows_);
    for (int r = 0; r < rows_; ++r) vmovdqu32(ptr[t.out + 64 * r], acc(0, r));
    t.next_band_and_leave(*this, 64 * rows_, band_loop, done);
  }

 private:
  int rows_;
};

// The quad kernels' start: arguments loaded, `fix` = zero_point_fix,
// `setup` (constants the loop keeps in registers), and the band loop's head
// (nothing to do without bands).
void begin_quad_bands(JitGenerator& g, const TileRegs& t, const Reg64& fix, Label& band_loop, Label& done,
                      const std::function<void()>& setup = nullptr) {
  t.enter(g);
  g.mov(fix, g.ptr[rdi + 56]);  // SpmmTileArgs::zero_point_fix; rdi is free from here on
  if (setup) setup();
  g.test(t.bands, t.bands);
  g.jz(done, JitGenerator::T_NEAR);
  g.L(band_loop);
}

// The quad kernels' band end: where zero_point_fix (`fix`) is set, each band
// row's x_zero_point x weight sum comes out of its `vectors` accumulators
// (Zmm(vectors r + v): 4 for 64-row tiles, 1 for 16-row tiles; `tmp` a free
// zmm) and fix steps to the next band; then the accumulators are stored to
// out and the loop goes to the next band.
void store_quad_band(JitGenerator& g, const TileRegs& t, const Reg64& fix, int rows, int vectors, const Zmm& tmp,
                     Label& band_loop, Label& done) {
  Label stored;
  g.test(fix, fix);
  g.jz(stored, JitGenerator::T_NEAR);
  for (int r = 0; r < rows; ++r) {
    g.vpbroadcastd(tmp, g.dword[fix + 4 * r]);
    for (int v = 0; v < vectors; ++v) g.vpsubd(Zmm(vectors * r + v), Zmm(vectors * r + v), tmp);
  }
  g.add(fix, 4 * rows);
  g.L(stored);
  for (int i = 0; i < vectors * rows; ++i) g.vmovdqu32(g.ptr[t.out + 64 * i], Zmm(i));
  t.next_band_and_leave(g, 64 * vectors * rows, band_loop, done);
}

// Quads (AVX512_VNNI): 64-row tiles of raw u8 activations, groups of 4 K
// indices, one vpdpbusd per band row and 16 rows of the tile against the
// row's broadcast weight quad: 4 MACs per lane, twice vpdpwssd's. The four
// K rows of a group become 4 zmm of byte quads by two rounds of unpacks (8
// shuffles per 16 vpdpbusd for 4-row bands); the tile's column order
// (u8s8_quad_tile_row) makes zmm v hold rows 16v..16v+15 in order.
class U8S8QuadBspmmAvx512Vnni : public JitGenerator {
 public:
  explicit U8S8QuadBspmmAvx512Vnni(int band_rows)
      : JitGenerator("u8_s8_s32_bspmm_64x" + std::to_string(band_rows) + "_avx512_vnni"), rows_(band_rows) {}

 protected:
  void generate() override {
    constexpr int kRowShift = 6;  // one K row of the tile: 64 bytes
    const TileRegs t;
    const int sets = rows_ == 4 ? 1 : 2;  // 1-row bands: two accumulator sets for 8 chains
    const int accs = 4 * rows_;          // per set: 4 zmm per band row
    const int value_bytes = 4 * rows_;
    auto acc = [&](int set, int r, int v) { return Zmm(set * accs + 4 * r + v); };
    const Reg64 idx[4] = {rax, rdx, rsi, rdi};
    auto group = [&](int u, int set) {
      for (int j = 0; j < 4; ++j) {
        movsxd(idx[j], dword[t.kidx + 16 * u + 4 * j]);
        shl(idx[j], kRowShift);
      }
      // Each K row loaded once (unpacks with a memory operand loaded b and d
      // twice: 6 loads, 2-3% slower at 70-90%, 4x1 128 x 768 x 768, Zen 5).
      const Zmm a(24), c(25), b(16), d(17), ab_lo(20), ab_hi(21), cd_lo(22), cd_hi(23);
      vmovdqu8(a, ptr[t.x + idx[0]]);
      vmovdqu8(b, ptr[t.x + idx[1]]);
      vmovdqu8(c, ptr[t.x + idx[2]]);
      vmovdqu8(d, ptr[t.x + idx[3]]);
      vpunpcklbw(ab_lo, a, b);
      vpunpckhbw(ab_hi, a, b);
      vpunpcklbw(cd_lo, c, d);
      vpunpckhbw(cd_hi, c, d);
      vpunpcklwd(Zmm(16), ab_lo, cd_lo);  // rows 0..15
      vpunpckhwd(Zmm(17), ab_lo, cd_lo);  // rows 16..31
      vpunpcklwd(Zmm(18), ab_hi, cd_hi);  // rows 32..47
      vpunpckhwd(Zmm(19), ab_hi, cd_hi);  // rows 48..63
      // The row's weight quad broadcast once (an embedded {1to16} per vpdpbusd
      // loads it 4 times: 22 loads per group made the kernel load-bound).
      for (int r = 0; r < rows_; ++r) {
        const Zmm w(26 + r);
        vpbroadcastd(w, dword[t.values + value_bytes * u + 4 * r]);
        for (int v = 0; v < 4; ++v) vpdpbusd(acc(set, r, v), Zmm(16 + v), w);
      }
    };
    const Reg64 fix = r15;
    Label band_loop, store, done;
    begin_quad_bands(*this, t, fix, band_loop, done);
    for (int i = accs; i < sets * accs; ++i) vpxord(Zmm(i), Zmm(i), Zmm(i));
    t.load_or_zero<Zmm>(*this, accs, true);
    movsxd(rcx, dword[t.counts]);
    t.group_loops(*this, rcx, sets, 16, value_bytes, [&](int u) { group(u, u); }, store);
    L(store);
    sum_sets(*this, sets, accs);
    store_quad_band(*this, t, fix, rows_, 4, Zmm(26), band_loop, done);
  }

 private:
  int rows_;
};

// 16-row quad tiles (small M: a 64-row tile for M = 8 spent 8x the work;
// natural row order, K row k at 16 k): per group the four K rows' 16 bytes go
// into the four 128-bit lanes of one zmm (a load and 3 vinserti32x4), vpermd
// puts dword L of every lane into lane L, and vpshufb transposes each lane's
// 4x4 bytes: dword m = the quad of activation row m. Then one vpdpbusd per
// band row (2 sets of accumulators for 4-row bands, 4 for 1-row bands).
class U8S8Quad16BspmmAvx512Vnni : public JitGenerator {
 public:
  explicit U8S8Quad16BspmmAvx512Vnni(int band_rows)
      : JitGenerator("u8_s8_s32_bspmm_16x" + std::to_string(band_rows) + "_quads_avx512_vnni"), rows_(band_rows) {}

 protected:
  void generate() override {
    constexpr int kRowShift = 4;  // one K row of the tile: 16 bytes
    const TileRegs t;
    const int sets = rows_ == 4 ? 2 : 4;
    const int value_bytes = 4 * rows_;
    const Zmm lane_perm(30), byte_perm(31);
    const Reg64 idx[4] = {rax, rdx, rsi, rdi};
    Label constants;
    auto group = [&](int u) {
      for (int j = 0; j < 4; ++j) {
        movsxd(idx[j], dword[t.kidx + 16 * u + 4 * j]);
        shl(idx[j], kRowShift);
      }
      const Zmm q(8 + u);
      vmovdqu8(Xmm(8 + u), ptr[t.x + idx[0]]);
      for (int j = 1; j < 4; ++j) vinserti32x4(q, q, ptr[t.x + idx[j]], j);
      vpermd(q, lane_perm, q);
      vpshufb(q, q, byte_perm);
      for (int r = 0; r < rows_; ++r) {
        const Zmm w(16 + 4 * u + r);
        vpbroadcastd(w, dword[t.values + value_bytes * u + 4 * r]);
        vpdpbusd(Zmm((u % sets) * rows_ + r), q, w);
      }
    };
    const Reg64 fix = r15;
    Label band_loop, store, done;
    begin_quad_bands(*this, t, fix, band_loop, done, [&] {
      vmovdqu32(lane_perm, ptr[rip + constants]);
      vmovdqu32(byte_perm, ptr[rip + constants + 64]);
    });
    for (int i = rows_; i < sets * rows_; ++i) vpxord(Zmm(i), Zmm(i), Zmm(i));
    t.load_or_zero<Zmm>(*this, rows_, true);
    movsxd(rcx, dword[t.counts]);
    t.group_loops(*this, rcx, sets, 16, value_bytes, group, store);
    L(store);
    sum_sets(*this, sets, rows_);
    store_quad_band(*this, t, fix, rows_, 1, Zmm(16), band_loop, done);
    // vpermd: output dword 4L + j = input dword 4j + L; vpshufb (per lane):
    // output byte 4i + j = input byte 4j + i.
    align(64);
    L(constants);
    for (int l = 0; l < 4; ++l)
      for (int j = 0; j < 4; ++j) dd(4 * j + l);
    for (int lane = 0; lane < 4; ++lane)
      for (int i = 0; i < 4; ++i)
        for (int j = 0; j < 4; ++j) db(4 * j + i);
  }

 private:
  int rows_;
};

// 1x4 blocks (k_block 4) on 1-row bands: a group is one aligned K quad q,
// and the tile holds dense quads ([K / 4][64 rows][4] u8), so the group's
// four zmm of 16 rows' quads are plain loads at 256 q: four vpdpbusd against
// the broadcast weight quad, no shuffles (the 4x1 kernel needs 8 per group).
// Two accumulator sets of 4 zmm, alternating between groups (1 and 4 sets
// measured the same). Bound by the loads: 5 per 4 vpdpbusd (the 4x1 kernel's
// tile loads and shuffles feed 4 rows), ~4.5 cycles a group on Zen 5; a
// 16-byte load of 4 groups' weights and vpshufd instead of the broadcasts
// measured the same. 128 x 768 x 768 1x4 blocks, against the 1-row quad
// kernel on the same W: 70% 131 -> 92 us, 90% 56 -> 39 (Zen 5).
// 16-row tiles ([K/4][16][4]): one zmm per group, 4 accumulator sets.
class U8S8KQuadBspmmAvx512Vnni : public JitGenerator {
 public:
  explicit U8S8KQuadBspmmAvx512Vnni(int mr)
      : JitGenerator("u8_s8_s32_bspmm_" + std::to_string(mr) + "x1x4_avx512_vnni"), mr_(mr) {}

 protected:
  void generate() override {
    constexpr int kUnroll = 4;
    const int vectors = mr_ / 16, sets = vectors == 4 ? 2 : 4;
    const int quad_shift = log2_exact(mr_);  // kidx[0] = 4q -> byte offset 4 mr q
    const TileRegs t;
    const Reg64 idx[kUnroll] = {rax, rdx, rsi, rdi};
    auto group = [&](int u) {
      movsxd(idx[u], dword[t.kidx + 4 * u]);  // (one K index a group: 4q)
      shl(idx[u], quad_shift);
      const Zmm w(16 + u);
      vpbroadcastd(w, dword[t.values + 4 * u]);
      for (int v = 0; v < vectors; ++v) {
        const Zmm x(20 + 4 * (u % 3) + v);  // (Zmm20-31: three groups' loads in flight)
        vmovdqu8(x, ptr[t.x + idx[u] + 64 * v]);
        vpdpbusd(Zmm(vectors * (u % sets) + v), x, w);
      }
    };
    const Reg64 fix = r15;
    Label band_loop, store, done;
    begin_quad_bands(*this, t, fix, band_loop, done);
    for (int i = vectors; i < vectors * sets; ++i) vpxord(Zmm(i), Zmm(i), Zmm(i));
    t.load_or_zero<Zmm>(*this, vectors, true);
    movsxd(rcx, dword[t.counts]);
    t.group_loops(*this, rcx, kUnroll, 4, 4, group, store);
    L(store);
    sum_sets(*this, sets, vectors);
    store_quad_band(*this, t, fix, 1, vectors, Zmm(16), band_loop, done);
  }

 private:
  int mr_;
};

// One activation row of raw u8 (M = 1). 4-row bands: per group the four K
// values gathered into one dword, broadcast to the 4 rows, whose weight quads
// are one xmm, and vpdpbusd; four accumulators. 1-row bands: generate_stream.
class U8S8QuadSpmvAvx512Vnni : public JitGenerator {
 public:
  U8S8QuadSpmvAvx512Vnni(int band_rows, int k_block)
      : JitGenerator("u8_s8_s32_spmv_1x" + std::to_string(band_rows) + (k_block == 4 ? "x4" : "") + "_avx512_vnni"),
        rows_(band_rows),
        k_block_(k_block) {}

 protected:
  void generate() override {
    constexpr int kUnroll = 4, value_bytes = 16;
    const TileRegs t;
    // acc(u): Xmm0-3; x quad: Xmm4-7.
    auto step = [&](int u) {
      const Reg32 q = u % 2 == 0 ? eax : esi, b = u % 2 == 0 ? edx : ecx;
      const Reg64 q64 = u % 2 == 0 ? rax : rsi, b64 = u % 2 == 0 ? rdx : rcx;
      for (int j = 0; j < 4; ++j) {
        const Reg64 i64 = j == 0 ? q64 : b64;
        const Reg32 i32 = j == 0 ? q : b;
        movsxd(i64, dword[t.kidx + 16 * u + 4 * j]);
        movzx(i32, byte[t.x + i64]);
        if (j == 0) continue;
        shl(b, 8 * j);
        or_(q, b);
      }
      vmovd(Xmm(4 + u), q);
      vpbroadcastd(Xmm(4 + u), Xmm(4 + u));
      vpdpbusd(Xmm(u), Xmm(4 + u), ptr[t.values + value_bytes * u]);
    };
    t.enter(*this);
    const Reg64 fix = r15;
    mov(fix, ptr[rdi + 56]);  // SpmmTileArgs::zero_point_fix
    if (rows_ == 1) {
      mov(rbx, ptr[rdi + 64]);  // SpmmTileArgs::scratch
      generate_stream(t, fix, rbx);
      return;
    }
    Label band_loop, store, stored, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    t.spmv_s32_band_start(*this);
    movsxd(rdi, dword[t.counts]);  // the argument pointer is no longer needed
    t.group_loops(*this, rdi, kUnroll, 16, value_bytes, step, store);
    L(store);
    t.spmv_s32_sum(*this);
    test(fix, fix);
    jz(stored, T_NEAR);
    vmovdqu32(Xmm(8), ptr[fix]);
    vpsubd(Xmm(0), Xmm(0), Xmm(8));
    add(fix, value_bytes);
    L(stored);
    vmovdqu32(ptr[t.out], Xmm(0));
    t.next_band_and_leave(*this, value_bytes, band_loop, done);
  }

  // 1-row bands: TileRegs::spmv_stream. A group's quad: with 1x4 blocks
  // (k_block 4) the dword at x + 4q (its one K index), else its four bytes
  // gathered into a GPR.
  void generate_stream(const TileRegs& t, const Reg64& fix, const Reg64& p) {
    const int kidx_bytes = k_block_ == 4 ? 4 : 16;
    auto load_quad = [&](int u) {
      if (k_block_ == 4) {
        movsxd(rsi, dword[t.kidx + kidx_bytes * u]);
        if (u == 0) vmovd(Xmm(1), dword[t.x + rsi]);
        else vpinsrd(Xmm(1), Xmm(1), dword[t.x + rsi], u);
        return;
      }
      for (int j = 0; j < 4; ++j) {
        movsxd(rsi, dword[t.kidx + kidx_bytes * u + 4 * j]);
        movzx(j == 0 ? eax : edx, byte[t.x + rsi]);
        if (j == 0) continue;
        shl(edx, 8 * j);
        or_(eax, edx);
      }
      if (u == 0) vmovd(Xmm(1), eax);
      else vpinsrd(Xmm(1), Xmm(1), eax, u);
    };
    auto dot = [&](const Xmm& dst, const Xmm& x, const Operand& w) {
      vpxor(dst, dst, dst);
      vpdpbusd(dst, x, w);
    };
    t.spmv_stream(*this, p, &fix, kidx_bytes, load_quad, dot);
  }

 private:
  int rows_, k_block_;
};

}  // namespace

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_bspmm_avx512(int band_rows) {
  return build_band_generator<U8S8BspmmAvx512>("u8s8_bspmm_avx512", band_rows);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_quad_bspmm_avx512_vnni(int band_rows) {
  return build_band_generator<U8S8QuadBspmmAvx512Vnni>("u8s8_quad_bspmm_avx512_vnni", band_rows);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_quad16_bspmm_avx512_vnni(int band_rows) {
  return build_band_generator<U8S8Quad16BspmmAvx512Vnni>("u8s8_quad16_bspmm_avx512_vnni", band_rows);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_kquad_bspmm_avx512_vnni(int mr) {
  if (mr != 16 && mr != kU8S8QuadTileRows)
    return InvalidArgument("u8s8_kquad_bspmm_avx512_vnni: mr must be 16 or 64, got ", mr);
  return build_generator<U8S8KQuadBspmmAvx512Vnni>(mr);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_quad_spmv_avx512_vnni(int band_rows, int k_block) {
  if (band_rows != 1 && band_rows != 4)
    return InvalidArgument("u8s8_quad_spmv_avx512_vnni: band_rows must be 1 or 4, got ", band_rows);
  if (k_block != 1 && !(k_block == 4 && band_rows == 1))
    return InvalidArgument("u8s8_quad_spmv_avx512_vnni: k_block 4 needs band_rows 1, got k_block ", k_block,
                           " band_rows ", band_rows);
  return build_generator<U8S8QuadSpmvAvx512Vnni>(band_rows, k_block);
}

}  // namespace sparsert::jit
