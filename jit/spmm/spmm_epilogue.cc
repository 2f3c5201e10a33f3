#include "jit/spmm/spmm_epilogue.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <type_traits>

#include "base/fast_math.h"
#include "jit/isa.h"
#include "jit/spmm/spmm_transpose.h"

namespace sparsert::jit {
namespace epilogue_baseline {
constexpr uint32_t kEpilogueIsa = kIsaGeneric;
#include "jit/spmm/spmm_epilogue_body.inc"
}  // namespace epilogue_baseline

void spmm_epilogue(const SpmmDesc& d, const SpmmRunArgs& a, const EpilogueTile& tile) {
  // With SpmmRunArgs::y_range the build widens this call's own range, merged
  // into y_range after it (calls run on several threads).
  EpilogueTile t = tile;
  float range[2] = {0.f, 0.f};
  if (a.y_range != nullptr) t.range = range;
  if (may_use(kIsaAvx512, d.isa_cap))
    epilogue_avx512::spmm_epilogue(d, a, t);
  else if (may_use(kIsaAvx2, d.isa_cap))
    epilogue_avx2::spmm_epilogue(d, a, t);
  else
    epilogue_baseline::spmm_epilogue(d, a, t);
  if (a.y_range == nullptr) return;
  static std::mutex merge;
  std::lock_guard<std::mutex> lock(merge);
  a.y_range[0] = range[0] < a.y_range[0] ? range[0] : a.y_range[0];
  a.y_range[1] = range[1] > a.y_range[1] ? range[1] : a.y_range[1];
}

}  // namespace sparsert::jit
