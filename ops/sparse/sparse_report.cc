#include "ops/sparse/sparse_report.h"

#include <string>

namespace sparsert {

std::shared_ptr<const jit::Spmm> reported(std::shared_ptr<const jit::Spmm> spmm, const SparseChoice& choice,
                                          const ImplContext& ictx) {
  if (ictx.report == nullptr) return spmm;
  const jit::PackedSparse& w = spmm->weights();
  ictx.report->variant = spmm->impl_name();
  if (const jit::PackedDenseU8S8* dense = spmm->dense_weights())
    ictx.report->notes.push_back(choice.why + "; dense 16-channel groups, " + std::to_string(dense->fixes()) +
                                 " remainder entries");
  else
    ictx.report->notes.push_back(choice.why +
                                 (w.band_rows == 4 ? "; 4-row bands (4x1 blocks)"
                                  : w.k_block == 4 ? "; 1-row bands of K quads (1x4 blocks)"
                                  : w.k_block == 2 ? "; 1-row bands of K pairs (1x4 blocks)"
                                                   : "; 1-row bands") +
                                 ", " + std::to_string(w.groups() * w.group) + " K entries for " +
                                 std::to_string(w.nnz) + " non-zeros");
  for (const std::string& d : spmm->declined()) ictx.report->notes.push_back("declined " + d);
  ictx.report->packed_weight_bytes = spmm->packed_bytes();
  return spmm;
}

}  // namespace sparsert
