// The SpMM reference: the same contract as Spmm::run computed from the dense
// weight, in double (int64 for u8s8 accumulators) with exact std::erf /
// std::tanh. The obviously-correct twin the tests compare every kernel with.
#pragma once

#include "jit/spmm/spmm.h"

namespace sparsert::jit {

void spmm_reference(const SpmmDesc& d, const void* w, int64_t stride_n, int64_t stride_k, const SpmmRunArgs& a);

}  // namespace sparsert::jit
