// u8_s8_s32_gemm_<mr>x16_avx2: the dense tile of dense_u8s8.h. Per K quad:
// the group's 16 weight dwords in two ymm, and for each of the mr rows the
// activation dword broadcast, vpmaddubsw (never saturates: W1's pairs are
// safe), vpmaddwd by ones (int16 pairs -> int32) and vpaddd into 2 of the
// 2 * mr accumulators. 6 rows keep 12 accumulators + 2 weights + broadcast +
// product in the 16 ymm registers (the ones vector is then a memory operand).
#include "jit/spmm/dense_u8s8.h"

namespace sparsert::jit {
namespace {

using namespace Xbyak;
using namespace Xbyak::util;

class DenseU8S8Avx2 : public JitGenerator {
 public:
  explicit DenseU8S8Avx2(int mr) : JitGenerator("u8_s8_s32_gemm_" + std::to_string(mr) + "x16_avx2"), mr_(mr) {}

 protected:
  void generate() override {
    // System V arguments: x (rdi, row 0), ldx, group_w, quads, out, ld_out_bytes, accumulate.
    const Reg64 ldx = rsi, w = rdx, quads = rcx, out = r8, ld_out = r9, q = rax;
    const Reg64 rows[PackedDenseU8S8::kMaxRows] = {rdi, r10, r11, r12, r13, r14};
    preamble();
    for (int m = 1; m < mr_; ++m) lea(rows[m], ptr[rows[m - 1] + ldx]);
    auto acc = [](int m, int v) { return Ymm(2 * m + v); };
    const Ymm w0(12), w1(13), xb(14), prod(15);
    // Ones in a free register when the accumulators leave one (mr <= 5).
    const bool ones_in_register = 2 * mr_ < 12;
    const Ymm ones(11);
    Label ones_data, loop;
    if (ones_in_register) vmovdqu(ones, ptr[rip + ones_data]);
    // The 7th argument (on the stack, above the return address and the 6
    // saved registers): accumulate onto out (a later K chunk) or start at 0.
    Label zero, start;
    cmp(qword[rsp + 8 + 6 * 8], 0);
    je(zero, T_NEAR);
    mov(q, out);
    for (int m = 0; m < mr_; ++m) {
      vmovdqu(acc(m, 0), ptr[q]);
      vmovdqu(acc(m, 1), ptr[q + 32]);
      if (m + 1 < mr_) add(q, ld_out);
    }
    jmp(start, T_NEAR);
    L(zero);
    for (int m = 0; m < mr_; ++m)
      for (int v = 0; v < 2; ++v) vpxor(acc(m, v), acc(m, v), acc(m, v));
    L(start);
    // One K quad: the group's 16 weight dwords, then per row the broadcast
    // activation dword against both halves.
    auto quad = [&](int w_disp, int x_disp) {
      vmovdqa(w0, ptr[w + w_disp]);
      vmovdqa(w1, ptr[w + w_disp + 32]);
      for (int m = 0; m < mr_; ++m) {
        vpbroadcastd(xb, ptr[rows[m] + q * 4 + x_disp]);
        for (int v = 0; v < 2; ++v) {
          vpmaddubsw(prod, xb, v == 0 ? w0 : w1);
          if (ones_in_register) vpmaddwd(prod, prod, ones);
          else vpmaddwd(prod, prod, ptr[rip + ones_data]);
          vpaddd(acc(m, v), acc(m, v), prod);
        }
      }
    };
    // Two quads per iteration, then an odd last one.
    const Reg64 pairs_end = r15;
    Label tail, done;
    mov(pairs_end, quads);
    and_(pairs_end, ~int64_t{1});
    xor_(q, q);
    test(pairs_end, pairs_end);
    jz(tail, T_NEAR);
    L(loop);
    quad(0, 0);
    quad(PackedDenseU8S8::kCols * 4, 4);
    add(w, 2 * PackedDenseU8S8::kCols * 4);
    add(q, 2);
    cmp(q, pairs_end);
    jb(loop, T_NEAR);
    L(tail);
    cmp(q, quads);
    jae(done, T_NEAR);
    quad(0, 0);
    L(done);
    for (int m = 0; m < mr_; ++m) {
      vmovdqu(ptr[out], acc(m, 0));
      vmovdqu(ptr[out + 32], acc(m, 1));
      if (m + 1 < mr_) add(out, ld_out);
    }
    postamble();
    align(32);
    L(ones_data);
    for (int i = 0; i < 16; ++i) dw(1);
  }

 private:
  int mr_;
};

}  // namespace

StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_dense_avx2(int mr) {
  if (mr < 1 || mr > PackedDenseU8S8::kMaxRows)
    return InvalidArgument("u8s8 dense tile: mr must be 1..", PackedDenseU8S8::kMaxRows, ", got ", mr);
  auto gen = std::make_shared<DenseU8S8Avx2>(mr);
  SPARSERT_RETURN_IF_ERROR(gen->create());
  return std::shared_ptr<const JitGenerator>(std::move(gen));
}

}  // namespace sparsert::jit
