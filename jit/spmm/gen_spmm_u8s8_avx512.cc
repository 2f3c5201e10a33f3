// u8s8 band kernels on AVX-512 (contract: spmm_microkernel.h), the AVX2
// kernel's data layout on zmm: per group the two K rows of the int16 tile are
// interleaved by vpunpck{l,h}wd (ymm, the tile order puts m 0..7 in the low
// and 8..15 in the high result) and joined by vinserti32x8 into one zmm of 16
// (x[ka], x[kb]) pairs in m order; each band row then takes one vpdpwssd
// against its broadcast weight pair (AVX512_VNNI), or vpmaddwd + vpaddd.
// int16 x int16 pair sums cannot overflow s32 here: exact for all u8/s8.
//
// vpdpwssd chains on its accumulator (latency ~4-5 cycles), so groups are
// unrolled into independent accumulator sets (2 for 4-row bands, 4 for 1-row
// bands: 8 or 4 chains) that are summed at the band's end.
#include "jit/spmm/gen_spmm_tile_regs.h"
#include "jit/spmm/gen_spmm_x86.h"
#include "jit/spmm/spmm_microkernel.h"

namespace sparsert::jit {
namespace {

using namespace Xbyak;
using namespace Xbyak::util;

class U8S8BspmmAvx512 : public JitGenerator {
 public:
  U8S8BspmmAvx512(int band_rows, bool vnni)
      : JitGenerator("u8_s8_s32_bspmm_16x" + std::to_string(band_rows) + (vnni ? "_avx512_vnni" : "_avx512")),
        rows_(band_rows),
        vnni_(vnni) {}

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
        const int offset = value_bytes * u + 4 * r;
        if (vnni_) {
          vpdpwssd(acc(set, r), pairs, ptr_b[t.values + offset]);  // {1to16}: the weight pair broadcast
        } else {
          const Zmm wv(16 + (u * rows_ + r) % 8), product(24 + (u * rows_ + r) % 8);
          vpbroadcastd(wv, dword[t.values + offset]);
          vpmaddwd(product, pairs, wv);
          vpaddd(acc(set, r), acc(set, r), product);
        }
      }
    };
    t.enter(*this);  // rdi (the argument pointer) is free from here on
    Label band_loop, unrolled_loop, tail_loop, store, done;
    test(t.bands, t.bands);
    jz(done, T_NEAR);
    L(band_loop);
    for (int i = rows_; i < sets * rows_; ++i) vpxord(Zmm(i), Zmm(i), Zmm(i));
    t.load_or_zero<Zmm>(*this, rows_, true);
    movsxd(rcx, dword[t.counts]);
    L(unrolled_loop);
    cmp(rcx, sets);
    jl(tail_loop, T_NEAR);
    for (int u = 0; u < sets; ++u) group(u, u);
    add(t.kidx, 8 * sets);
    add(t.values, value_bytes * sets);
    sub(rcx, sets);
    jmp(unrolled_loop, T_NEAR);
    L(tail_loop);
    test(rcx, rcx);
    jz(store, T_NEAR);
    group(0, 0);
    add(t.kidx, 8);
    add(t.values, value_bytes);
    dec(rcx);
    jmp(tail_loop, T_NEAR);
    L(store);
    for (int width = sets; width > 1; width /= 2)  // pairwise tree over the sets
      for (int s = 0; s < width / 2; ++s)
        for (int r = 0; r < rows_; ++r) vpaddd(acc(s, r), acc(s, r), acc(s + width / 2, r));
    for (int r = 0; r < rows_; ++r) vmovdqu32(ptr[t.out + 64 * r], acc(0, r));
    t.next_band_and_leave(*this, 64 * rows_, band_loop, done);
  }

 private:
  int rows_;
  bool vnni_;
};

}  // namespace

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_bspmm_avx512(int band_rows, bool vnni) {
  if (band_rows != 1 && band_rows != 4)
    return InvalidArgument("u8s8_bspmm_avx512: band_rows must be 1 or 4, got ", band_rows);
  auto gen = std::make_shared<U8S8BspmmAvx512>(band_rows, vnni);
  SPARSERT_RETURN_IF_ERROR(gen->create());
  return std::shared_ptr<const JitGenerator>(std::move(gen));
}

}  // namespace sparsert::jit
