// The AVX2 build of the array loops (see vector_math_loops.inc); compiled
// with -mavx2 -mfma -ffp-contract=off, called only where AVX2 may be used.
#include <immintrin.h>

#include <climits>

#include "ops/fast/vector_math.h"

namespace sparsert::fast::avx2 {
#include "ops/fast/vector_math_loops.inc"
}  // namespace sparsert::fast::avx2
