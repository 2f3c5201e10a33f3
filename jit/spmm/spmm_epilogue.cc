#include "jit/spmm/spmm_epilogue.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "base/fast_math.h"
#include "jit/isa.h"
#include "jit/spmm/spmm_transpose.h"

namespace sparsert::jit {
namespace epilogue_baseline {
constexpr uint32_t kEpilogueIsa = kIsaGeneric;
#include "jit/spmm/spmm_epilogue_body.inc"
}  // namespace epilogue_baseline

void spmm_epilogue(const SpmmDesc& d, const SpmmRunArgs& a, const EpilogueTile& t) {
  if (may_use(kIsaAvx512, d.isa_cap))
    epilogue_avx512::spmm_epilogue(d, a, t);
  else if (may_use(kIsaAvx2, d.isa_cap))
    epilogue_avx2::spmm_epilogue(d, a, t);
  else
    epilogue_baseline::spmm_epilogue(d, a, t);
}

}  // namespace sparsert::jit
