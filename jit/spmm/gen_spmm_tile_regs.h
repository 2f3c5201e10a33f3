// Registers and loop scaffolding shared by the x86 SpMM micro-kernel
// generators (gen_spmm_x86.cc, gen_spmm_u8s8_avx512.cc): the SpmmTileArgs
// fields in fixed GPRs, the accumulators' load-or-zero, and the band loop's
// step. Vmm is Xbyak::Ymm (AVX2) or Xbyak::Zmm (AVX-512).
#pragma once

#include <functional>
#include <memory>
#include <type_traits>

#include "base/status.h"
#include "jit/jit_generator.h"

namespace sparsert::jit {

template <typename Vmm>
constexpr int kVecBytes = std::is_same_v<Vmm, Xbyak::Zmm> ? 64 : 32;

inline int log2_exact(int v) {
  int s = 0;
  while ((1 << s) < v) ++s;
  return s;
}

// Registers common to the band kernels, loaded from SpmmTileArgs (rdi).
struct TileRegs {
  Xbyak::Reg64 x = Xbyak::util::r8, counts = Xbyak::util::r9, kidx = Xbyak::util::r10, values = Xbyak::util::r11,
               out = Xbyak::util::r12, bands = Xbyak::util::r13, accumulate = Xbyak::util::r14;

  // Saves callee-saved registers and loads the arguments (offsets: spmm_microkernel.h).
  void enter(JitGenerator& g) const {
    using Xbyak::util::rdi;
    g.preamble();
    g.mov(x, g.ptr[rdi + 0]);
    g.mov(counts, g.ptr[rdi + 8]);
    g.mov(kidx, g.ptr[rdi + 16]);
    g.mov(values, g.ptr[rdi + 24]);
    g.mov(out, g.ptr[rdi + 32]);
    g.mov(bands, g.ptr[rdi + 40]);
    g.mov(accumulate, g.ptr[rdi + 48]);
  }
  // Accumulators Vmm(0..count-1): loaded from `out` when accumulating (a
  // later K chunk), else zeroed.
  template <typename Vmm>
  void load_or_zero(JitGenerator& g, int count, bool integer) const {
    constexpr bool zmm = std::is_same_v<Vmm, Xbyak::Zmm>;
    Xbyak::Label zero, ready;
    g.test(accumulate, accumulate);
    g.jz(zero, JitGenerator::T_NEAR);
    for (int i = 0; i < count; ++i) {
      const auto src = g.ptr[out + kVecBytes<Vmm> * i];
      if (!integer) g.vmovups(Vmm(i), src);
      else if (zmm) g.vmovdqu32(Vmm(i), src);
      else g.vmovdqu(Vmm(i), src);
    }
    g.jmp(ready, JitGenerator::T_NEAR);
    g.L(zero);
    for (int i = 0; i < count; ++i) {
      if (!integer) g.vxorps(Vmm(i), Vmm(i), Vmm(i));
      else if (zmm) g.vpxord(Vmm(i), Vmm(i), Vmm(i));
      else g.vpxor(Vmm(i), Vmm(i), Vmm(i));
    }
    g.L(ready);
  }
  // The integer one-row kernels' band start (4-row bands): s32 accumulators
  // Xmm0-3 zeroed, Xmm0 continuing from this band's 4 `out` lanes on a later K chunk.
  void spmv_s32_band_start(JitGenerator& g) const {
    using Xbyak::Xmm;
    Xbyak::Label ready;
    for (int u = 0; u < 4; ++u) g.vpxor(Xmm(u), Xmm(u), Xmm(u));
    g.test(accumulate, accumulate);
    g.jz(ready, JitGenerator::T_NEAR);
    g.vmovdqu(Xmm(0), g.ptr[out]);
    g.L(ready);
  }
  // ... and its end: Xmm0 = the sum of Xmm0-3.
  void spmv_s32_sum(JitGenerator& g) const {
    using Xbyak::Xmm;
    g.vpaddd(Xmm(0), Xmm(0), Xmm(2));
    g.vpaddd(Xmm(1), Xmm(1), Xmm(3));
    g.vpaddd(Xmm(0), Xmm(0), Xmm(1));
  }
  // A band's group loop: `count` (a register holding the band's group count)
  // groups, `unroll` at a time through body(0..unroll-1), then the rest one
  // at a time through body(0); body(u) addresses group u at kidx + u *
  // kidx_bytes and values + u * value_bytes. Falls through to `after`'s jump
  // when done (the caller binds `after`).
  void group_loops(JitGenerator& g, const Xbyak::Reg64& count, int unroll, int kidx_bytes, int value_bytes,
                   const std::function<void(int)>& body, Xbyak::Label& after) const {
    Xbyak::Label unrolled, tail;
    g.L(unrolled);
    g.cmp(count, unroll);
    g.jl(tail, JitGenerator::T_NEAR);
    for (int u = 0; u < unroll; ++u) body(u);
    g.add(kidx, kidx_bytes * unroll);
    g.add(values, value_bytes * unroll);
    g.sub(count, unroll);
    g.jmp(unrolled, JitGenerator::T_NEAR);
    g.L(tail);
    g.test(count, count);
    g.jz(after, JitGenerator::T_NEAR);
    body(0);
    g.add(kidx, kidx_bytes);
    g.add(values, value_bytes);
    g.dec(count);
    g.jmp(tail, JitGenerator::T_NEAR);
  }
  // The one-row kernels of 1-row bands, from after enter() to the return: the
  // call's groups run as one stream (the bands' groups are consecutive) whose
  // running sum goes to scratch p: P[0] = 0, P[g + 1] = the sum of groups
  // 0..g; band b's s32 result is then P[end_b] - P[start_b] (+ out[b] when
  // accumulating, - *fix per band where fix is non-null). No branch on a
  // band's length: per band, the loop exits over ~10 groups a band and K
  // chunk at 90% mispredicted and bound the kernels. Four groups to an xmm:
  // load_group(u) puts group u's activations in Xmm(1) lane u (u = 0 also
  // zeroing the other lanes), dot(Xmm0, Xmm1, weights) gives each lane's
  // group sum, the lanes' inclusive prefix plus the running sum (Xmm15) goes
  // to P; the tail one group at a time (lane 0). Uses rax, rcx, rdx, rsi,
  // rdi, Xmm0-3 and Xmm15.
  void spmv_stream(JitGenerator& g, const Xbyak::Reg64& p, const Xbyak::Reg64* fix, int kidx_bytes,
                   const std::function<void(int)>& load_group,
                   const std::function<void(const Xbyak::Xmm&, const Xbyak::Xmm&, const Xbyak::Operand&)>& dot) const {
    using namespace Xbyak::util;
    using Xbyak::Xmm;
    constexpr int kUnroll = 4;
    Xbyak::Label count_loop, group_loop, group_tail, groups_done, band_loop, no_acc, no_fix, done;
    // rcx = the call's groups.
    g.xor_(ecx, ecx);
    g.test(bands, bands);
    g.jz(done, JitGenerator::T_NEAR);
    g.mov(rdx, counts);
    g.mov(rsi, bands);
    g.L(count_loop);
    g.movsxd(rax, g.dword[rdx]);
    g.add(rcx, rax);
    g.add(rdx, 4);
    g.dec(rsi);
    g.jnz(count_loop);
    const Xmm run(15);  // the running sum in every lane
    g.vpxor(run, run, run);
    g.mov(g.dword[p], 0);
    g.lea(rdi, g.ptr[p + 4]);  // &P[g + 1]
    g.L(group_loop);
    g.cmp(rcx, kUnroll);
    g.jl(group_tail, JitGenerator::T_NEAR);
    for (int u = 0; u < kUnroll; ++u) load_group(u);
    dot(Xmm(0), Xmm(1), g.ptr[values]);
    g.vpslldq(Xmm(2), Xmm(0), 4);
    g.vpaddd(Xmm(0), Xmm(0), Xmm(2));
    g.vpslldq(Xmm(2), Xmm(0), 8);
    g.vpaddd(Xmm(0), Xmm(0), Xmm(2));
    g.vpaddd(Xmm(0), Xmm(0), run);
    g.vmovdqu(g.ptr[rdi], Xmm(0));
    g.vpshufd(run, Xmm(0), 0xFF);
    g.add(kidx, kidx_bytes * kUnroll);
    g.add(values, 4 * kUnroll);
    g.add(rdi, 4 * kUnroll);
    g.sub(rcx, kUnroll);
    g.jmp(group_loop, JitGenerator::T_NEAR);
    g.L(group_tail);
    g.test(rcx, rcx);
    g.jz(groups_done, JitGenerator::T_NEAR);
    load_group(0);
    g.vmovd(Xmm(3), g.dword[values]);
    dot(Xmm(0), Xmm(1), Xmm(3));
    g.vpaddd(run, run, Xmm(0));  // (lane 0; the others are not read again)
    g.vmovd(g.dword[rdi], run);
    g.add(kidx, kidx_bytes);
    g.add(values, 4);
    g.add(rdi, 4);
    g.dec(rcx);
    g.jmp(group_tail, JitGenerator::T_NEAR);
    g.L(groups_done);
    g.mov(rsi, p);  // &P[start_b]
    g.L(band_loop);
    g.movsxd(rax, g.dword[counts]);
    g.lea(rdi, g.ptr[rsi + rax * 4]);  // &P[end_b]
    g.mov(eax, g.dword[rdi]);
    g.sub(eax, g.dword[rsi]);
    g.test(accumulate, accumulate);
    g.jz(no_acc, JitGenerator::T_NEAR);
    g.add(eax, g.dword[out]);
    g.L(no_acc);
    if (fix != nullptr) {
      g.test(*fix, *fix);
      g.jz(no_fix, JitGenerator::T_NEAR);
      g.sub(eax, g.dword[*fix]);
      g.add(*fix, 4);
      g.L(no_fix);
    }
    g.mov(g.dword[out], eax);
    g.mov(rsi, rdi);
    next_band_and_leave(g, 4, band_loop, done);
  }
  // Steps to the next band (its accumulators are out_bytes further), loops, and returns.
  void next_band_and_leave(JitGenerator& g, int out_bytes, Xbyak::Label& band_loop, Xbyak::Label& done) const {
    g.add(out, out_bytes);
    g.add(counts, 4);
    g.dec(bands);
    g.jnz(band_loop, JitGenerator::T_NEAR);
    g.L(done);
    g.postamble();
  }
};

// Constructs a generator and generates its code (Xbyak errors become a Status).
template <typename Gen, typename... Args>
StatusOr<std::shared_ptr<const JitGenerator>> build_generator(Args... args) {
  auto gen = std::make_shared<Gen>(args...);
  SPARSERT_RETURN_IF_ERROR(gen->create());
  return std::shared_ptr<const JitGenerator>(std::move(gen));
}

// build_generator for the band kernels, whose bands have 1 or 4 rows
// (Gen(band_rows, more...)).
template <typename Gen, typename... More>
StatusOr<std::shared_ptr<const JitGenerator>> build_band_generator(const char* name, int band_rows, More... more) {
  if (band_rows != 1 && band_rows != 4) return InvalidArgument(name, ": band_rows must be 1 or 4, got ", band_rows);
  return build_generator<Gen>(band_rows, more...);
}

}  // namespace sparsert::jit
