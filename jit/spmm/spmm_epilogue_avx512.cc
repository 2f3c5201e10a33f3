// The AVX-512 build of the SpMM epilogue (spmm_epilogue_body.inc); compiled
// with -mavx512f/bw/dq/vl -mfma -mprefer-vector-width=512 -ffp-contract=off,
// called only where the layer may use AVX-512. Same operations as the AVX2
// build, twice the lanes (GELU's erf among them: fast_math.h's zmm path), so
// the same floats.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "base/fast_math.h"
#include "jit/spmm/spmm_epilogue.h"
#include "jit/spmm/spmm_transpose.h"
#include "jit/spmm/transpose_blocks.h"

// GCC 12's _mm512_max_ps/_mm512_min_ps pass _mm512_undefined_ps() (`__m512
// __Y = __Y;`), which -Wmaybe-uninitialized flags once inlined (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace sparsert::jit::epilogue_avx512 {
constexpr uint32_t kEpilogueIsa = kIsaAvx512;
#include "jit/spmm/spmm_epilogue_body.inc"
}  // namespace sparsert::jit::epilogue_avx512
#pragma GCC diagnostic pop
