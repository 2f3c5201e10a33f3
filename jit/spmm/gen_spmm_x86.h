// Xbyak generators of the x86 SpMM micro-kernels, AVX2 and AVX-512 (contract:
// spmm_microkernel.h).
// The code depends on the tile shape and band height only; the sparsity
// pattern is data (K index and value streams), so one kernel serves every
// layer of that shape class and any M.
#pragma once

#include <memory>

#include "base/status.h"
#include "jit/jit_generator.h"

namespace sparsert::jit {

// f32_spmm_<mr>x1_avx2: mr in {8, 16, 32}; FMA with the weight broadcast
// against mr activations of one K row, 8 accumulators to cover FMA latency.
StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmm_avx2(int mr);
// f32_spmm_<mr>x1_avx512: mr in {16, 32, 64}; the same loop on zmm (64: 16 accumulators).
StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmm_avx512(int mr);
// f32_bspmm_<mr>x4_avx2: mr in {8, 16}; bands of 4 rows sharing K indices
// (4x1 blocks): each tile row is loaded once for 4 rows' FMAs.
StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_bspmm_avx2(int mr);
// f32_bspmm_<mr>x4_avx512: mr in {16, 32}; the same loop on zmm.
StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_bspmm_avx512(int mr);
// f32_spmv_1x<band_rows>_avx2: band_rows in {1, 4}; one activation row (the
// tile is x itself): scalar or 4-lane FMAs against x[k], 4 accumulators.
StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmv_avx2(int band_rows);
// f32_spmv_1x1_avx512: one activation row against 1-row bands; each band's
// list 16 non-zeros at a time (masked loads, vgatherdps of x[k], one FMA).
StatusOr<std::shared_ptr<const JitGenerator>> generate_f32_spmv_gather_avx512();
// u8_s8_s32_bspmm_16x<band_rows>_avx2: band_rows in {1, 4}; two K rows of the
// int16 tile interleaved by vpunpck{l,h}wd, vpmaddwd against each row's weight
// pair: exact for all u8/s8 values (no int16 saturation).
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_bspmm_avx2(int band_rows);
// u8_s8_s32_bspmm_16x<band_rows>_avx512 (gen_spmm_u8s8_avx512.cc), for
// AVX-512 without VNNI: the same int16 tile and weight pairs; the two unpacked
// halves joined into one zmm of 16 pairs in m order, then per band row
// vpmaddwd + vpaddd against the broadcast weight pair. Exact like the AVX2 one.
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_bspmm_avx512(int band_rows);
// u8_s8_s32_bspmm_64x<band_rows>_avx512_vnni: the quad layout (4-K groups,
// raw u8 64-row tiles, spmm_microkernel.h), vpdpbusd.
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_quad_bspmm_avx512_vnni(int band_rows);
// u8_s8_s32_bspmm_16x<band_rows>_quads_avx512_vnni: the quads on 16-row tiles
// in natural row order (small M), each group's K rows transposed in one zmm.
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_quad16_bspmm_avx512_vnni(int band_rows);
// u8_s8_s32_bspmm_{64,16}x1x4_avx512_vnni: 1x4 blocks (k_block 4) on 1-row bands,
// tiles of dense K quads: four tile loads and vpdpbusd per group, no shuffles.
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_kquad_bspmm_avx512_vnni(int mr = 64);
// u8_s8_s32_spmv_1x<band_rows>[x4]_avx512_vnni: the quad layout for one
// activation row (k_block 4: 1x4 blocks, each group's quad one dword load).
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_quad_spmv_avx512_vnni(int band_rows, int k_block = 1);
// u8_s8_s32_spmv_1x<band_rows>[x4]_avx2: one activation row of the int16 tile;
// per group the two K values as one int16 pair (k_block 2: 1x4 blocks as
// aligned pairs, 1-row bands, one dword load), vpmaddwd per band row.
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_spmv_avx2(int band_rows, int k_block = 1);
// u8_s8_s32_bspmm_16x1x4_{avx2,avx512}: 1x4 blocks as aligned K pairs (k_block
// 2) on 1-row bands, 16-row tiles of dense int16 pairs: vpmaddwd straight
// from the tile against the broadcast weight pair, no shuffles. The avx512
// one (zmm) is for AVX-512 without VNNI.
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_kpair_bspmm_avx2();
StatusOr<std::shared_ptr<const JitGenerator>> generate_u8s8_kpair_bspmm_avx512();

}  // namespace sparsert::jit
