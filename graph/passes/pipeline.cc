#include "graph/passes/pipeline.h"

#include <cstdio>

#include "graph/passes/constant_folding.h"
#include "graph/passes/dead_code_elimination.h"
#include "graph/passes/fuse_dynamic_quantize_range.h"
#include "graph/passes/fuse_attention.h"
#include "graph/passes/fuse_layer_norm.h"
#include "graph/passes/fuse_elementwise_chain.h"
#include "graph/passes/fuse_linear_epilogue.h"
#include "graph/passes/fuse_qdq.h"
#include "graph/passes/nchwc_layout.h"
#include "graph/passes/quantize_dynamic.h"
#include "graph/passes/shape_inference.h"

namespace sparsert::passes {

namespace {
using PassFn = StatusOr<int> (*)(Graph&, PassContext&);

Status run_one(const char* name, PassFn fn, Graph& g, PassContext& ctx) {
  if (ctx.disabled.count(name)) {
    ctx.log.push_back(std::string(name) + " disabled");
    return Status::OK();
  }
  auto modified = fn(g, ctx);
  if (!modified.ok()) return modified.status().with_context(std::string("pass ") + name);
  std::string line = std::string(name) + " modified=" + std::to_string(*modified);
  if (ctx.verbose) std::fprintf(stderr, "[sparsert] pass %s\n", line.c_str());
  ctx.log.push_back(std::move(line));
  return Status::OK();
}
}  // namespace

Status run_pipeline(Graph& g, PassContext& ctx, int level) {
  // Types first, at every level (it annotates, it changes no computation): the
  // session's output metadata and every later pass read them.
  SPARSERT_RETURN_IF_ERROR(run_one("shape_inference", run_shape_inference, g, ctx));
  if (level <= 0) return Status::OK();
  // QDQ first: folding would dequantize the int8 weights into float ones.
  SPARSERT_RETURN_IF_ERROR(run_one("fuse_qdq", run_fuse_qdq, g, ctx));
  // The weight dequantizations it orphaned go before folding would materialize them.
  SPARSERT_RETURN_IF_ERROR(run_one("dead_code_elimination", run_dead_code_elimination, g, ctx));
  // Folding first: it turns static shape chains into constants, which is what
  // every later pattern-matching pass needs to see weights and shapes.
  SPARSERT_RETURN_IF_ERROR(run_one("constant_folding", run_constant_folding, g, ctx));
  // Then drop whatever folding (or the exporter) left without a consumer.
  SPARSERT_RETURN_IF_ERROR(run_one("dead_code_elimination", run_dead_code_elimination, g, ctx));
  // Again, now that folded shape chains are constants.
  SPARSERT_RETURN_IF_ERROR(run_one("shape_inference", run_shape_inference, g, ctx));
  // Canonical forms first (they need the ranks and last dims inference just
  // proved): decomposed LayerNorm (opset < 17 exports), then attention, whose
  // head split/merge dims come from the same types; the
  // Transposes, scores and shape chains it bypasses go with DCE.
  SPARSERT_RETURN_IF_ERROR(run_one("fuse_layer_norm", run_fuse_layer_norm, g, ctx));
  SPARSERT_RETURN_IF_ERROR(run_one("fuse_attention", run_fuse_attention, g, ctx));
  SPARSERT_RETURN_IF_ERROR(run_one("dead_code_elimination", run_dead_code_elimination, g, ctx));
  // Epilogue fusion needs constant weights/biases (folding) and the residual's
  // symbolic shape (inference) to prove the residual add is element-wise.
  // Opt-in (SessionOptions::quantize): writes ORT's dynamic-int8 chain that the
  // next pass folds onto the sparse int8 kernels.
  SPARSERT_RETURN_IF_ERROR(run_one("quantize_dynamic", run_quantize_dynamic, g, ctx));
  SPARSERT_RETURN_IF_ERROR(run_one("fuse_linear_epilogue", run_fuse_linear_epilogue, g, ctx));
  // The quantizations of IntegerLinear outputs take their range from it.
  SPARSERT_RETURN_IF_ERROR(run_one("fuse_dynamic_quantize_range", run_fuse_dynamic_quantize_range, g, ctx));
  // Layout last: it needs the channel counts inference found, and it rewrites
  // Conv, Add and activations that no earlier pass should have to recognize
  // in two layouts. Inference again checks the blocked types it wrote.
  SPARSERT_RETURN_IF_ERROR(run_one("nchwc_layout", run_nchwc_layout, g, ctx));
  // Whatever element-wise runs the fusions above left, one memory pass each.
  SPARSERT_RETURN_IF_ERROR(run_one("fuse_elementwise_chain", run_fuse_elementwise_chain, g, ctx));
  SPARSERT_RETURN_IF_ERROR(run_one("shape_inference", run_shape_inference, g, ctx));
  return Status::OK();
}

}  // namespace sparsert::passes
