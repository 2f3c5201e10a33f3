// Options for creating a Session (what ONNX Runtime's SessionOptions holds, plus sparsert's own).
#pragma once

#include <set>
#include <string>

namespace sparsert {

struct SessionOptions {
  // Intra-op threads; 0 = one per available core.
  int threads = 0;
  // ISA cap: "" = detected (limited by SPARSERT_ISA), or avx512_vnni|avx512|avx_vnni|avx2|generic.
  std::string isa;
  // 0 = the reference plan (no graph passes, reference kernels only: the
  // accuracy baseline); >= 1 = the full pipeline and the fastest kernels.
  int optimization_level = 99;
  // Pass names to skip (see `sparse_run inspect` for the names).
  std::set<std::string> disabled_passes;
  // Kernel implementations never to choose ("onednn_conv_f32", ...; the names
  // Session::kernel_summary() prints): to bisect a wrong result or compare a
  // fast kernel with the next one in line. The reference kernels always remain.
  std::set<std::string> disabled_kernels;
  // Channel block of the NCHWc layout for convolution chains: 0 = by ISA (16
  // under AVX-512, 8 under AVX2, off below); 4, 8 or 16 forces it.
  int nchwc_block = 0;
  // When set, per-node times are written as Chrome trace JSON here
  // (at Session::EndProfiling or destruction).
  std::string profile_file;
  // Log passes and kernel choices to stderr.
  bool verbose = false;
  // Reuse one arena per run for node outputs, laid out from the first run with
  // the same input shapes (ONNX Runtime's enable_mem_pattern).
  bool enable_mem_pattern = true;
  // Debugging aid: check every node's outputs against the types static shape
  // inference gave them (dtype, rank, static dims, symbols bound consistently);
  // a difference fails the run naming node, value and both types.
  bool check_inferred_shapes = false;
  // Sparse kernels for constant weights: "auto" (a per-layer cost model
  // decides), "always" (every eligible weight), "never" (dense only).
  std::string sparse_kernels = "auto";
  // >= 0: a layer runs sparse exactly when its weight sparsity is at least this
  // (overrides the cost model under "auto"); < 0: the cost model decides.
  double sparsity_threshold = -1.0;
  // "none", or "dynamic-int8": the float MatMuls the sparse cost model would
  // run sparse in int8 run on the int8 sparse kernels, weights quantized per
  // output channel at session creation, activations per tensor at run time
  // (graph/passes/quantize_dynamic.h). Accuracy: see the README.
  std::string quantize = "none";
  // Share the compiled plan (graph, kernels, packed weights) with other live
  // sessions of the same model file or bytes and compile options
  // (runtime/plan_cache.h): a second session then takes milliseconds and no
  // second copy of the weights. Off: every session compiles its own.
  bool share_compiled_plan = true;
};

}  // namespace sparsert
