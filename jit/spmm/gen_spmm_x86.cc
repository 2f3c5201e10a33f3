#include "jit/spmm/gen_spmm_x86.h"

#include "jit/spmm/gen_spmm_tile_regs.h"
#include "jit/spmm/spmm_microkernel.h"

namespace sparsert::jit {
namespace {

using namespace Xbyak;
using namespace Xbyak::util;

// Isa suffix of a generator's name: "avx2" for Ymm code, "avx512" for Zmm.
template <typename Vmm>
const char* vmm_isa() {
  return std::is_same_v<Vmm, Zmm> ? "avx512" : "avx2";
}

// Vmm = Ymm (AVX2) or Zmm (AVX-512): the same loop, twice the lanes.
template <typename Vmm>
class F32Spmm : public JitGenerator {
 public:
  explicit F32Spmm(int mr) : JitGenerator("f32_spmm_" + std::to_string(mr) + "x1_" + vmm_isa<Vmm>()), mr_(mr) {}

 protected:
  void generate() override {
    constexpr int kLanes = kVecBytes<Vmm> / 4;
    const TileRegs t;
    const int vecs = mr_ / kLanes;  // vectors per tile row
    // Independent accumulator sets: 8 accumulators in all, 16 for 64-row zmm
    // tiles (4 sets of 4 hide the FMA latency; the weight broadcasts follow them).
    const int accs = vecs == 4 && std::is_same_v<Vmm, Zmm> ? 16 : 8;
    const int unroll = accs / vecs;
    const int row_shift = log2_exact(mr_ * 4);
    t.enter(*this);
    Label band_loop, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    for (int i = vecs; i < accs; ++i) vxorps(Vmm(i), Vmm(i), Vmm(i));
    t.template load_or_zero<Vmm>(*this, vecs, false);
    movsxd(rcx, dword[t.counts]);
    t.group_loops(*this, rcx, unroll, 4, 4, [&](int u) {  // one non-zero: accumulator set u
      const Reg64 idx = u % 2 == 0 ? rax : rdx;
      movsxd(idx, dword[t.kidx + 4 * u]);
      shl(idx, row_shift);
      vbroadcastss(Vmm(accs + u), dword[t.values + 4 * u]);
      for (int v = 0; v < vecs; ++v) vfmadd231ps(Vmm(u * vecs + v), Vmm(accs + u), ptr[t.x + idx + kVecBytes<Vmm> * v]);
    }, store);
    L(store);
    // Sum the accumulator sets pairwise (a tree: log2(unroll) dependent adds).
    for (int width = unroll; width > 1; width /= 2)
      for (int u = 0; u < width / 2; ++u)
        for (int v = 0; v < vecs; ++v)
          vaddps(Vmm(u * vecs + v), Vmm(u * vecs + v), Vmm((u + width / 2) * vecs + v));
    for (int v = 0; v < vecs; ++v) vmovups(ptr[t.out + kVecBytes<Vmm> * v], Vmm(v));
    t.next_band_and_leave(*this, mr_ * 4, band_loop, done);
  }

 private:
  int mr_;
};

// 4-row bands (4x1-block-pruned W): each K index of a band's list carries the
// weights of its 4 rows, so one activation row of the tile is loaded once into
// registers and feeds 4 x (mr / 8) FMAs. The 1-row kernel instead reads the
// tile row from L1 for every non-zero: 5 loads per 4 FMAs at mr = 32, which
// makes it load-bound (Zen 3: two 256-bit loads per cycle) below FMA peak.
template <typename Vmm>
class F32BandSpmm : public JitGenerator {
 public:
  explicit F32BandSpmm(int mr) : JitGenerator("f32_bspmm_" + std::to_string(mr) + "x4_" + vmm_isa<Vmm>()), mr_(mr) {}

 protected:
  void generate() override {
    constexpr int kRows = 4, kLanes = kVecBytes<Vmm> / 4;
    const TileRegs t;
    const int vecs = mr_ / kLanes;
    const int sets = 2 / vecs;     // accumulator sets: 8 accumulators hide the FMA latency
    const int accs = kRows * vecs;  // per set
    const int row_shift = log2_exact(mr_ * 4);
    auto acc = [&](int set, int r, int v) { return Vmm(set * accs + r * vecs + v); };
    t.enter(*this);
    Label band_loop, pair_loop, tail, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    for (int i = accs; i < sets * accs; ++i) vxorps(Vmm(i), Vmm(i), Vmm(i));
    t.template load_or_zero<Vmm>(*this, accs, false);
    movsxd(rcx, dword[t.counts]);
    // One K index: the tile row into registers, then 4 rows x vecs FMAs.
    auto step = [&](int u, const Reg64& idx) {
      movsxd(idx, dword[t.kidx + 4 * u]);
      shl(idx, row_shift);
      const int xr = 8 + 2 * u;  // Vmm8-9 (u = 0), Vmm10-11 (u = 1)
      for (int v = 0; v < vecs; ++v) vmovups(Vmm(xr + v), ptr[t.x + idx + kVecBytes<Vmm> * v]);
      for (int r = 0; r < kRows; ++r) {
        const Vmm w(12 + (2 * u + r) % 4);
        vbroadcastss(w, dword[t.values + 4 * (kRows * u + r)]);
        for (int v = 0; v < vecs; ++v) vfmadd231ps(acc(u % sets, r, v), w, Vmm(xr + v));
      }
    };
    L(pair_loop);
    cmp(rcx, 2);
    jl(tail, T_NEAR);
    step(0, rax);
    step(1, rdx);
    add(t.kidx, 8);
    add(t.values, 4 * 2 * kRows);
    sub(rcx, 2);
    jmp(pair_loop, T_NEAR);
    L(tail);
    test(rcx, rcx);
    jz(store, T_NEAR);
    step(0, rax);
    add(t.kidx, 4);
    add(t.values, 4 * kRows);
    L(store);
    if (sets == 2)
      for (int i = 0; i < accs; ++i) vaddps(Vmm(i), Vmm(i), Vmm(accs + i));
    for (int i = 0; i < accs; ++i) vmovups(ptr[t.out + kVecBytes<Vmm> * i], Vmm(i));
    t.next_band_and_leave(*this, kRows * mr_ * 4, band_loop, done);
  }

 private:
  int mr_;
};

// One activation row (M = 1: decode, online serving): the tile is the row
// itself and there is nothing to share a weight across, so the kernel streams
// each band's (K index, weights) groups through scalar (1-row bands) or
// 4-lane (4-row bands) FMAs against x[k], four accumulators deep. The 8-row
// kernels computed 8 lanes for 1 useful one: 24-40% of the read bandwidth.
class F32SpmvAvx2 : public JitGenerator {
 public:
  explicit F32SpmvAvx2(int band_rows)
      : JitGenerator("f32_spmv_1x" + std::to_string(band_rows) + "_avx2"), rows_(band_rows) {}

 protected:
  void generate() override {
    constexpr int kUnroll = 4;
    const TileRegs t;
    const bool band4 = rows_ == 4;
    const int value_bytes = 4 * rows_;
    // acc(u): Xmm0-3; x(u): Xmm4-7. One row: scalar lanes; 4 rows: the 4 rows' lanes.
    auto fma = [&](int u, const Reg64& idx) {
      if (band4) {
        vbroadcastss(Xmm(4 + u), dword[t.x + idx * 4]);
        vfmadd231ps(Xmm(u), Xmm(4 + u), ptr[t.values + value_bytes * u]);
      } else {
        vmovss(Xmm(4 + u), dword[t.x + idx * 4]);
        vfmadd231ss(Xmm(u), Xmm(4 + u), dword[t.values + value_bytes * u]);
      }
    };
    t.enter(*this);
    Label band_loop, store, done, ready;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    for (int u = 0; u < kUnroll; ++u) vxorps(Xmm(u), Xmm(u), Xmm(u));
    test(t.accumulate, t.accumulate);  // a later K chunk: continue from `out` (only this band's bytes)
    jz(ready, T_NEAR);
    if (band4) vmovups(Xmm(0), ptr[t.out]);
    else vmovss(Xmm(0), dword[t.out]);
    L(ready);
    movsxd(rcx, dword[t.counts]);
    t.group_loops(*this, rcx, kUnroll, 4, value_bytes, [&](int u) {
      const Reg64 idx = u % 2 == 0 ? rax : rdx;
      movsxd(idx, dword[t.kidx + 4 * u]);
      fma(u, idx);
    }, store);
    L(store);
    if (band4) {
      vaddps(Xmm(0), Xmm(0), Xmm(2));
      vaddps(Xmm(1), Xmm(1), Xmm(3));
      vaddps(Xmm(0), Xmm(0), Xmm(1));
      vmovups(ptr[t.out], Xmm(0));
    } else {
      vaddss(Xmm(0), Xmm(0), Xmm(2));
      vaddss(Xmm(1), Xmm(1), Xmm(3));
      vaddss(Xmm(0), Xmm(0), Xmm(1));
      vmovss(dword[t.out], Xmm(0));
    }
    t.next_band_and_leave(*this, value_bytes, band_loop, done);
  }

 private:
  int rows_;
};

// One activation row against 1-row bands (unstructured W) on AVX-512. A
// band's list in a K chunk is short (~13 non-zeros at 90%), and the xmm
// kernel's per-band loop exits and tails, mispredicted on random lengths,
// dominated it: 9 of 28 GB/s read bandwidth at 4096 x 4096 90% (Zen 5). Here
// a list of up to 16 takes one masked round: masked loads of its K indices
// and weights, vgatherdps of x[k], one FMA, the 16 lanes summed; no branch
// depends on its length. Longer lists take the xmm loop (scalar FMAs, 4
// accumulators): a gather costs ~22 cycles for 16 values on Zen 5, scalar
// loads are cheaper once the lengths' branches are predictable.
class F32SpmvGatherAvx512 : public JitGenerator {
 public:
  F32SpmvGatherAvx512() : JitGenerator("f32_spmv_1x1_avx512") {}

 protected:
  void generate() override {
    constexpr int kMaxMasked = 16;
    const TileRegs t;
    const Zmm acc(0), k16(5), xk(6), w(7);
    t.enter(*this);
    Label band_loop, long_list, sum4, sum16, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    movsxd(rcx, dword[t.counts]);
    cmp(rcx, kMaxMasked);
    jg(long_list, T_NEAR);
    // Up to 16: lanes [0, count) of one round.
    mov(edx, -1);
    bzhi(edx, edx, ecx);
    kmovw(k1, edx);
    kmovw(k2, edx);  // vgatherdps clears its mask
    vxorps(acc, acc, acc);
    vmovdqu32(k16 | k1 | T_z, ptr[t.kidx]);
    vgatherdps(xk | k2, ptr[t.x + k16 * 4]);
    vmovups(w | k1 | T_z, ptr[t.values]);
    vfmadd231ps(acc | k1, xk, w);  // merge-masked: lanes past the list stay 0
    lea(t.kidx, ptr[t.kidx + rcx * 4]);
    lea(t.values, ptr[t.values + rcx * 4]);
    vextractf64x4(Ymm(1), acc, 1);
    vaddps(Ymm(0), Ymm(0), Ymm(1));
    vextractf128(Xmm(1), Ymm(0), 1);
    vaddps(Xmm(0), Xmm(0), Xmm(1));
    jmp(sum4, T_NEAR);
    // Longer: scalar FMAs into the low lanes of Xmm0-3, 4 at a time.
    L(long_list);
    for (int u = 0; u < 4; ++u) vxorps(Xmm(u), Xmm(u), Xmm(u));
    t.group_loops(*this, rcx, 4, 4, 4, [&](int u) {
      const Reg64 idx = u % 2 == 0 ? rax : rdx;
      movsxd(idx, dword[t.kidx + 4 * u]);
      vmovss(Xmm(4 + u), dword[t.x + idx * 4]);
      vfmadd231ss(Xmm(u), Xmm(4 + u), dword[t.values + 4 * u]);
    }, sum16);
    L(sum16);
    vaddss(Xmm(0), Xmm(0), Xmm(2));
    vaddss(Xmm(1), Xmm(1), Xmm(3));
    vaddss(Xmm(0), Xmm(0), Xmm(1));
    jmp(store, T_NEAR);
    L(sum4);  // the masked round's 4 partial sums in Xmm0
    vmovhlps(Xmm(1), Xmm(1), Xmm(0));
    vaddps(Xmm(0), Xmm(0), Xmm(1));
    vmovshdup(Xmm(1), Xmm(0));
    vaddss(Xmm(0), Xmm(0), Xmm(1));
    L(store);
    Label stored;
    test(t.accumulate, t.accumulate);  // a later K chunk: continue from `out`
    jz(stored, T_NEAR);
    vaddss(Xmm(0), Xmm(0), dword[t.out]);
    L(stored);
    vmovss(dword[t.out], Xmm(0));
    t.next_band_and_leave(*this, 4, band_loop, done);
  }
};

class U8S8BspmmAvx2 : public JitGenerator {
 public:
  explicit U8S8BspmmAvx2(int band_rows)
      : JitGenerator("u8_s8_s32_bspmm_16x" + std::to_string(band_rows) + "_avx2"), rows_(band_rows) {}

 protected:
  void generate() override {
    const TileRegs t;
    constexpr int kRowBytes = kU8S8TileRows * 2;  // one K row of the int16 tile
    const Ymm xa(8), lo(10), hi(11), w(12), p0(13), p1(14);
    t.enter(*this);
    Label band_loop, group_loop, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    t.load_or_zero<Ymm>(*this, 2 * rows_, true);
    movsxd(rcx, dword[t.counts]);
    test(rcx, rcx);
    jz(store, T_NEAR);
    L(group_loop);
    movsxd(rax, dword[t.kidx]);
    movsxd(rdx, dword[t.kidx + 4]);
    shl(rax, log2_exact(kRowBytes));
    shl(rdx, log2_exact(kRowBytes));
    vmovdqu(xa, ptr[t.x + rax]);
    vpunpcklwd(lo, xa, ptr[t.x + rdx]);
    vpunpckhwd(hi, xa, ptr[t.x + rdx]);
    for (int r = 0; r < rows_; ++r) {
      vpbroadcastd(w, dword[t.values + 4 * r]);
      vpmaddwd(p0, lo, w);
      vpmaddwd(p1, hi, w);
      vpaddd(Ymm(2 * r), Ymm(2 * r), p0);
      vpaddd(Ymm(2 * r + 1), Ymm(2 * r + 1), p1);
    }
    add(t.kidx, 8);
    add(t.values, 4 * rows_);
    dec(rcx);
    jnz(group_loop, T_NEAR);
    L(store);
    for (int r = 0; r < rows_; ++r) {
      vmovdqu(ptr[t.out + 64 * r], Ymm(2 * r));
      vmovdqu(ptr[t.out + 64 * r + 32], Ymm(2 * r + 1));
    }
    t.next_band_and_leave(*this, 64 * rows_, band_loop, done);
  }

 private:
  int rows_;
};

// 1x4 blocks on 1-row bands as aligned K pairs (k_block 2), 16-row tiles of
// dense int16 pairs ([K / 2][16][2], x - zero point): a group's pair row is
// 64 bytes, the 16 rows' (x[2p], x[2p + 1]) in order, so each vpmaddwd takes
// it straight from the tile against the broadcast weight pair: no shuffles
// (the pair kernel on 1-row bands spends 3 per 2 vpmaddwd and shares none
// across rows). Two vpmaddwd a group on ymm, one on zmm (AVX-512 without
// VNNI); groups unrolled 4 deep into one accumulator set (vpaddd's one-cycle
// latency does not bound it). 32-row tiles (4 vpmaddwd per index and weight
// pair) and unrolling by 8 measured the same; 768 x 768 1x4 M=128, Zen 5
// AVX2 code: 70% 489-505 -> 290-294 us, 90% 162-165 -> 111.
template <typename Vmm>
class U8S8KPairBspmm : public JitGenerator {
 public:
  U8S8KPairBspmm() : JitGenerator(std::string("u8_s8_s32_bspmm_16x1x4_") + vmm_isa<Vmm>()) {}

 protected:
  void generate() override {
    constexpr int kUnroll = 4, kRowBytes = 4 * kU8S8TileRows;  // a pair row: 16 rows x 2 int16
    constexpr int vectors = kRowBytes / kVecBytes<Vmm>;         // accumulators: 2 (Ymm) or 1 (Zmm)
    const TileRegs t;
    const Reg64 idx[kUnroll] = {rax, rdx, rsi, rdi};
    auto group = [&](int u) {
      movsxd(idx[u], dword[t.kidx + 4 * u]);
      shl(idx[u], log2_exact(kRowBytes / 2));  // kidx = 2p -> byte offset 64 p
      const Vmm w(4 + u);
      vpbroadcastd(w, dword[t.values + 4 * u]);
      for (int v = 0; v < vectors; ++v) {
        const Vmm product(8 + vectors * u + v);
        vpmaddwd(product, w, ptr[t.x + idx[u] + kVecBytes<Vmm> * v]);
        vpaddd(Vmm(v), Vmm(v), product);
      }
    };
    t.enter(*this);  // rdi (the argument pointer) is free from here on
    Label band_loop, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    t.load_or_zero<Vmm>(*this, vectors, true);
    movsxd(rcx, dword[t.counts]);
    t.group_loops(*this, rcx, kUnroll, 4, 4, group, store);
    L(store);
    for (int v = 0; v < vectors; ++v) {
      if constexpr (std::is_same_v<Vmm, Zmm>) vmovdqu32(ptr[t.out + kVecBytes<Vmm> * v], Vmm(v));
      else vmovdqu(ptr[t.out + kVecBytes<Vmm> * v], Vmm(v));
    }
    t.next_band_and_leave(*this, kRowBytes, band_loop, done);
  }
};

// One activation row of the int16 tile (x - zero point): per group, the two
// K indices' values as one int16 pair (k_block 2: the aligned pair 2p, one
// dword load), broadcast to the band's rows and vpmaddwd against each row's
// weight pair (exact); four accumulators.
class U8S8SpmvAvx2 : public JitGenerator {
 public:
  U8S8SpmvAvx2(int band_rows, int k_block)
      : JitGenerator("u8_s8_s32_spmv_1x" + std::to_string(band_rows) + (k_block == 2 ? "x4" : "") + "_avx2"),
        rows_(band_rows),
        k_block_(k_block) {}

 protected:
  void generate() override {
    constexpr int kUnroll = 4, value_bytes = 16;
    const TileRegs t;
    // 4-row bands: acc(u): Xmm0-3; x pair: Xmm4-7; products: Xmm8-11.
    auto step = [&](int u) {
      const Reg32 a = u % 2 == 0 ? eax : esi, b = u % 2 == 0 ? edx : ecx;
      const Reg64 a64 = u % 2 == 0 ? rax : rsi, b64 = u % 2 == 0 ? rdx : rcx;
      movsxd(a64, dword[t.kidx + 8 * u]);
      movsxd(b64, dword[t.kidx + 8 * u + 4]);
      movzx(a, word[t.x + a64 * 2]);
      movzx(b, word[t.x + b64 * 2]);
      shl(b, 16);
      or_(a, b);
      vmovd(Xmm(4 + u), a);
      vpbroadcastd(Xmm(4 + u), Xmm(4 + u));
      vpmaddwd(Xmm(8 + u), Xmm(4 + u), ptr[t.values + value_bytes * u]);
      vpaddd(Xmm(u), Xmm(u), Xmm(8 + u));
    };
    t.enter(*this);
    if (rows_ == 1) {  // TileRegs::spmv_stream; a group's pair (x[k_a], x[k_b]) from two int16 loads
      mov(rbx, ptr[rdi + 64]);  // SpmmTileArgs::scratch
      auto load_pair = [&](int u) {
        if (k_block_ == 2) {  // pair p at kidx = 2p: bytes 4p
          movsxd(rsi, dword[t.kidx + 4 * u]);
          if (u == 0) vmovd(Xmm(1), dword[t.x + rsi * 2]);
          else vpinsrd(Xmm(1), Xmm(1), dword[t.x + rsi * 2], u);
          return;
        }
        movsxd(rsi, dword[t.kidx + 8 * u]);
        movzx(eax, word[t.x + rsi * 2]);
        movsxd(rsi, dword[t.kidx + 8 * u + 4]);
        movzx(edx, word[t.x + rsi * 2]);
        shl(edx, 16);
        or_(eax, edx);
        if (u == 0) vmovd(Xmm(1), eax);
        else vpinsrd(Xmm(1), Xmm(1), eax, u);
      };
      auto dot = [&](const Xmm& dst, const Xmm& x, const Operand& w) { vpmaddwd(dst, x, w); };
      t.spmv_stream(*this, rbx, nullptr, k_block_ == 2 ? 4 : 8, load_pair, dot);
      return;
    }
    Label band_loop, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    t.spmv_s32_band_start(*this);
    movsxd(rdi, dword[t.counts]);  // the argument pointer is no longer needed
    t.group_loops(*this, rdi, kUnroll, 8, value_bytes, step, store);
    L(store);
    t.spmv_s32_sum(*this);
    vmovdqu(ptr[t.out], Xmm(0));
    t.next_band_and_leave(*this, value_bytes, band_loop, done);
  }

 private:
  int rows_;
  int k_block_;
};

}  // namespace

StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmm_avx2(int mr) {
  if (mr != 8 && mr != 16 && mr != 32) return InvalidArgument("f32_spmm_avx2: mr must be 8, 16 or 32, got ", mr);
  return build_generator<F32Spmm<Ymm>>(mr);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmm_avx512(int mr) {
  if (mr != 16 && mr != 32 && mr != 64) return InvalidArgument("f32_spmm_avx512: mr must be 16, 32 or 64, got ", mr);
  return build_generator<F32Spmm<Zmm>>(mr);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_bspmm_avx2(int mr) {
  if (mr != 8 && mr != 16) return InvalidArgument("f32_bspmm_avx2: mr must be 8 or 16, got ", mr);
  return build_generator<F32BandSpmm<Ymm>>(mr);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_bspmm_avx512(int mr) {
  if (mr != 16 && mr != 32) return InvalidArgument("f32_bspmm_avx512: mr must be 16 or 32, got ", mr);
  return build_generator<F32BandSpmm<Zmm>>(mr);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmv_avx2(int band_rows) {
  return build_band_generator<F32SpmvAvx2>("f32_spmv_avx2", band_rows);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmv_gather_avx512() {
  return build_generator<F32SpmvGatherAvx512>();
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_spmv_avx2(int band_rows, int k_block) {
  if (k_block != 1 && k_block != 2) return InvalidArgument("u8s8_spmv_avx2: k_block must be 1 or 2, got ", k_block);
  if (k_block == 2 && band_rows != 1)
    return InvalidArgument("u8s8_spmv_avx2: k_block 2 needs band_rows 1, got ", band_rows);
  return build_band_generator<U8S8SpmvAvx2>("u8s8_spmv_avx2", band_rows, k_block);
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_kpair_bspmm_avx2() {
  return build_generator<U8S8KPairBspmm<Ymm>>();
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_kpair_bspmm_avx512() {
  return build_generator<U8S8KPairBspmm<Zmm>>();
}

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_bspmm_avx2(int band_rows) {
  return build_band_generator<U8S8BspmmAvx2>("u8s8_bspmm_avx2", band_rows);
}

}  // namespace sparsert::jit
