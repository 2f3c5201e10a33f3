// The AVX2 build of the SpMM epilogue (spmm_epilogue_body.inc); compiled with
// -mavx2 -mfma -ffp-contract=off, called only where the layer may use AVX2.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "base/fast_math.h"
#include "jit/spmm/spmm_epilogue.h"
#include "jit/spmm/spmm_transpose.h"
#include "jit/spmm/transpose_blocks.h"

namespace sparsert::jit::epilogue_avx2 {
constexpr uint32_t kEpilogueIsa = kIsaAvx2;
#include "jit/spmm/spmm_epilogue_body.inc"
}  // namespace sparsert::jit::epilogue_avx2
