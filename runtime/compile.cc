#include <algorithm>
#include <cstdio>
#include <map>
#include <thread>

#include "graph/passes/pipeline.h"
#include "jit/isa.h"
#include "runtime/plan.h"

namespace sparsert {
namespace {

TensorInfo tensor_info(const Value& v) {
  TensorInfo info;
  info.name = v.name;
  info.dtype = v.type.dtype;
  info.has_shape = v.type.has_shape;
  for (const Dim& d : v.type.dims) {
    info.shape.push_back(d.is_static() ? d.value : -1);
    info.symbols.push_back(d.is_static() ? "" : d.symbol);
  }
  return info;
}

// Every node's op must be registered; report all that are not, grouped by op.
Status check_supported(const Graph& g, const OpRegistry& registry) {
  std::map<std::string, std::vector<std::string>> missing;  // "domain.Op (opset N)" -> node names
  for (const Node& n : g.nodes()) {
    if (registry.find(n.domain, n.op_type)) continue;
    std::string key = (n.domain.empty() ? "" : n.domain + ".") + n.op_type + " (opset " + std::to_string(n.opset) + ")";
    missing[key].push_back(n.name);
  }
  if (missing.empty()) return Status::OK();
  std::string msg = "model uses " + std::to_string(missing.size()) + " unsupported op type(s): ";
  bool first = true;
  for (const auto& [op, nodes] : missing) {
    if (!first) msg += "; ";
    first = false;
    msg += op + " at node" + (nodes.size() > 1 ? "s " : " ");
    for (size_t i = 0; i < nodes.size() && i < 3; ++i) msg += (i ? ", '" : "'") + nodes[i] + "'";
    if (nodes.size() > 3) msg += " and " + std::to_string(nodes.size() - 3) + " more";
  }
  return Unimplemented(msg);
}

}  // namespace

StatusOr<std::unique_ptr<Plan>> compile_plan(Graph graph, const SessionOptions& options) {
  auto plan = std::make_unique<Plan>();
  plan->options = options;
  plan->isa_cap = jit::default_isa_cap();
  if (!options.isa.empty()) {
    SPARSERT_ASSIGN_OR_RETURN(uint32_t cap, jit::parse_isa(options.isa));
    plan->isa_cap &= cap;
  }
  SparsePolicy sparse;
  if (options.sparse_kernels == "auto") sparse.mode = SparseMode::kAuto;
  else if (options.sparse_kernels == "always") sparse.mode = SparseMode::kAlways;
  else if (options.sparse_kernels == "never") sparse.mode = SparseMode::kNever;
  else return InvalidArgument("sparse_kernels must be auto, always or never, got '", options.sparse_kernels, "'");
  if (options.sparsity_threshold > 1.0)
    return InvalidArgument("sparsity_threshold must be <= 1 (a fraction of zeros), got ", options.sparsity_threshold);
  sparse.sparsity_threshold = options.sparsity_threshold;
  plan->threads = options.threads > 0 ? options.threads
                                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const OpRegistry& registry = OpRegistry::global();
  // Check support before the passes so the error names the ops the user's model has.
  SPARSERT_RETURN_IF_ERROR(check_supported(graph, registry));
  for (const Node& n : graph.nodes()) SPARSERT_RETURN_IF_ERROR(check_arity(*registry.find(n.domain, n.op_type), n));

  passes::PassContext pctx;
  pctx.disabled = options.disabled_passes;
  pctx.verbose = options.verbose;
  pctx.sparse = sparse;
  pctx.isa_cap = plan->isa_cap;
  if (options.nchwc_block != 0 && options.nchwc_block != 4 && options.nchwc_block != 8 && options.nchwc_block != 16)
    return InvalidArgument("nchwc_block must be 0 (by ISA), 4, 8 or 16, got ", options.nchwc_block);
  pctx.nchwc_block = options.nchwc_block;
  if (options.quantize != "none" && options.quantize != "dynamic-int8")
    return InvalidArgument("quantize must be none or dynamic-int8, got '", options.quantize, "'");
  pctx.quantize = options.quantize;
  SPARSERT_RETURN_IF_ERROR(passes::run_pipeline(graph, pctx, options.optimization_level));
  plan->pass_log = pctx.log;

  SPARSERT_ASSIGN_OR_RETURN(std::vector<NodeId> order, graph.topological_order());
  std::vector<int> last_use(graph.num_values(), -1);
  for (size_t step = 0; step < order.size(); ++step)
    for (ValueId in : graph.node(order[step]).inputs)
      if (in != kNoValue) last_use[in] = static_cast<int>(step);
  for (size_t step = 0; step < order.size(); ++step) {
    const Node& n = graph.node(order[step]);
    PlannedNode p;
    p.node = order[step];
    p.schema = registry.find(n.domain, n.op_type);
    p.kernel = p.schema->reference;
    p.kernel_name = "reference";
    // Level 0 is the reference plan: no passes and reference kernels only.
    if (options.optimization_level > 0) {
      for (const KernelImpl& impl : p.schema->impls) {
        if (options.disabled_kernels.count(impl.name)) {
          p.declined.push_back(impl.name + ": disabled by the session options");
          continue;
        }
        ImplReport report;
        ImplContext ictx{plan->isa_cap, plan->threads, sparse, &report};
        auto k = impl.try_create(n, graph, ictx);
        if (k.ok()) {
          p.kernel = std::move(k).value();
          p.kernel_name = impl.name;
          p.report = std::move(report);
          break;
        }
        p.declined.push_back(impl.name + ": " + k.status().message());
      }
    }
    if (options.verbose) {
      std::string why;
      for (const std::string& d : p.declined) why += "; declined " + d;
      const std::string variant = p.report.variant.empty() ? "" : " [" + p.report.variant + "]";
      std::fprintf(stderr, "[sparsert] %s -> %s%s%s\n", n.describe().c_str(), p.kernel_name.c_str(), variant.c_str(),
                   why.c_str());
    }
    plan->steps.push_back(std::move(p));
  }
  for (size_t v = 0; v < graph.num_values(); ++v) {
    const Value& val = graph.value(static_cast<ValueId>(v));
    if (last_use[v] >= 0 && !val.is_graph_output && !val.constant)
      plan->steps[last_use[v]].release_after.push_back(static_cast<ValueId>(v));
  }
  for (ValueId in : graph.inputs()) plan->inputs.push_back(tensor_info(graph.value(in)));
  for (ValueId out : graph.outputs()) plan->outputs.push_back(tensor_info(graph.value(out)));
  plan->graph = std::move(graph);
  return plan;
}

}  // namespace sparsert
