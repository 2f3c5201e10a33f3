// The AVX-512 build of the array loops (see vector_math_loops.inc); compiled
// with -mavx512{f,bw,dq,vl} -mprefer-vector-width=512 -ffp-contract=off,
// called only where AVX-512 may be used.
#include <immintrin.h>

#include <climits>

#include "ops/fast/vector_math.h"

// GCC 12's _mm512_max_ps/_mm512_min_ps pass _mm512_undefined_ps() (`__m512
// __Y = __Y;`), which -Wmaybe-uninitialized flags once inlined (GCC PR 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace sparsert::fast::avx512 {
#include "ops/fast/vector_math_loops.inc"
}  // namespace sparsert::fast::avx512
#pragma GCC diagnostic pop
