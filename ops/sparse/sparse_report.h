// What `sparse_run inspect` shows of a layer on the sparse kernels.
#pragma once

#include <memory>

#include "jit/spmm/spmm.h"
#include "ops/registry.h"
#include "ops/sparse/sparse_cost_model.h"

namespace sparsert {

// Tells inspect (ictx.report) which generated kernel runs the layer, why, and
// what it holds; returns spmm.
std::shared_ptr<const jit::Spmm> reported(std::shared_ptr<const jit::Spmm> spmm, const SparseChoice& choice,
                                          const ImplContext& ictx);

}  // namespace sparsert
