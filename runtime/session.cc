#include "runtime/session.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "graph/onnx_import.h"
#include "jit/isa.h"
#include "ops/linear.h"
#include "ops/registry.h"
#include "runtime/executor.h"
#include "runtime/plan.h"
#include "runtime/plan_cache.h"

namespace sparsert {

namespace fs = std::filesystem;

std::string TensorInfo::type_string() const {
  std::string s = std::string(dtype_name(dtype)) + "[";
  if (!has_shape) return s + "?]";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] >= 0 ? std::to_string(shape[i]) : (symbols[i].empty() ? "?" : symbols[i]);
  }
  return s + "]";
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> out;
  for (const OpSchema* s : OpRegistry::global().all())
    if (s->domain != kSparsertDomain)  // internal ops that passes write, not part of the model format
      out.push_back(s->domain.empty() ? s->op_type : s->domain + "." + s->op_type);
  std::sort(out.begin(), out.end());
  return out;
}

Session::Session() = default;

Session::~Session() {
  if (executor_) executor_->end_profiling();
}

namespace {

// The shared plan under `key` if a live session holds one, else a new one
// (compiled from what import() returns, and offered to the cache). Compile
// errors get `context` (import errors name the model themselves).
template <typename Import>
StatusOr<std::shared_ptr<const Plan>> shared_or_compiled(const std::string& key, const SessionOptions& options,
                                                         const std::string& context, Import&& import) {
  const bool share = options.share_compiled_plan && !key.empty();
  const std::string full_key = key + "|" + compile_options_key(options);
  if (share)
    if (std::shared_ptr<const Plan> plan = PlanCache::global().find(full_key)) return plan;
  std::vector<std::string> external_files;
  SPARSERT_ASSIGN_OR_RETURN(Graph graph, import(&external_files));
  auto compiled = compile_plan(std::move(graph), options);
  if (!compiled.ok()) return context.empty() ? compiled.status() : compiled.status().with_context(context);
  std::shared_ptr<const Plan> plan(std::move(compiled).value());
  if (share) PlanCache::global().insert(full_key, plan, std::move(external_files));
  return plan;
}

}  // namespace

StatusOr<std::unique_ptr<Session>> Session::Create(const std::string& model_path, const SessionOptions& options) {
  std::string key;
  if (options.share_compiled_plan) {
    auto identity = file_content_identity(model_path);
    // External data resolves against the model's directory: part of the key.
    std::error_code ec;
    if (identity.ok()) key = *identity + "|dir=" + fs::absolute(model_path, ec).parent_path().string();
    // (else import names the problem)
  }
  SPARSERT_ASSIGN_OR_RETURN(auto plan, shared_or_compiled(key, options, "model '" + model_path + "'",
                                                          [&](std::vector<std::string>* external) {
                                                            return import_onnx_file(model_path, external);
                                                          }));
  std::unique_ptr<Session> s(new Session());
  s->plan_ = std::move(plan);
  s->executor_ = std::make_unique<Executor>(*s->plan_, options);
  return s;
}

StatusOr<std::unique_ptr<Session>> Session::CreateFromBytes(const void* data, size_t size,
                                                            const SessionOptions& options,
                                                            const std::string& model_dir) {
  const std::string key = options.share_compiled_plan ? bytes_identity(data, size) + "|dir=" + model_dir : "";
  SPARSERT_ASSIGN_OR_RETURN(auto plan, shared_or_compiled(key, options, "", [&](std::vector<std::string>* external) {
                              return import_onnx_bytes(data, size, model_dir, external);
                            }));
  std::unique_ptr<Session> s(new Session());
  s->plan_ = std::move(plan);
  s->executor_ = std::make_unique<Executor>(*s->plan_, options);
  return s;
}

const std::vector<TensorInfo>& Session::inputs() const { return plan_->inputs; }
const std::vector<TensorInfo>& Session::outputs() const { return plan_->outputs; }

StatusOr<std::vector<NamedTensor>> Session::Run(const std::vector<NamedTensor>& inputs,
                                                const std::vector<std::string>& output_names) const {
  return executor_->run(inputs, output_names);
}

StatusOr<std::vector<NamedTensor>> Session::RunKeepingIntermediates(const std::vector<NamedTensor>& inputs) const {
  return executor_->run(inputs, {}, true);
}

std::string Session::graph_dump() const { return plan_->graph.dump(); }
const std::vector<std::string>& Session::pass_log() const { return plan_->pass_log; }
size_t Session::num_nodes() const { return plan_->steps.size(); }

std::string Session::op_summary() const {
  std::map<std::string, int> counts;
  for (const PlannedNode& p : plan_->steps) ++counts[plan_->graph.node(p.node).op_type];
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [op, n] : counts) sorted.push_back({-n, op});
  std::sort(sorted.begin(), sorted.end());
  std::string s;
  for (const auto& [n, op] : sorted) s += (s.empty() ? "" : ", ") + op + " x" + std::to_string(-n);
  return s;
}

std::string Session::kernel_summary() const {
  std::map<std::string, int> counts;
  for (const PlannedNode& p : plan_->steps) ++counts[p.kernel_name];
  std::vector<std::pair<int, std::string>> sorted;
  for (const auto& [k, n] : counts) sorted.push_back({-n, k});
  std::sort(sorted.begin(), sorted.end());
  std::string s;
  for (const auto& [n, k] : sorted) s += (s.empty() ? "" : ", ") + k + " x" + std::to_string(-n);
  return s;
}

std::vector<std::string> Session::kernel_report() const {
  std::vector<std::string> out;
  for (const PlannedNode& p : plan_->steps) {
    const Node& n = plan_->graph.node(p.node);
    std::string line = n.name + " (" + n.op_type + "): " + p.kernel_name;
    for (size_t i = 0; i < p.declined.size(); ++i) line += (i ? "; " : " [declined ") + p.declined[i];
    if (!p.declined.empty()) line += "]";
    out.push_back(std::move(line));
  }
  return out;
}

namespace {

std::string value_type(const Value& v) {
  std::string t = v.type.to_string();
  return v.constant ? "const " + (v.constant->type_string()) : t;
}

// Zeros and all-zero 4-blocks along the last axis of a constant weight.
void weight_stats(const Tensor& w, NodeReport& r) {
  const int64_t n = w.num_elements(), inner = w.rank() ? w.shape().back() : 1;
  int64_t zeros = 0, blocks = 0, zero_blocks = 0;
  for (int64_t i = 0; i < n; ++i) zeros += w.element_as_double(i) == 0.0;
  for (int64_t row = 0; row + inner <= n; row += inner)
    for (int64_t c = 0; c + 4 <= inner; c += 4) {
      bool all = true;
      for (int64_t j = 0; j < 4 && all; ++j) all = w.element_as_double(row + c + j) == 0.0;
      ++blocks;
      zero_blocks += all;
    }
  r.weight = w.type_string();
  r.weight_bytes = static_cast<int64_t>(w.byte_size());
  r.weight_zeros = n ? static_cast<double>(zeros) / static_cast<double>(n) : 0;
  r.weight_zero_blocks_4x1 = blocks ? static_cast<double>(zero_blocks) / static_cast<double>(blocks) : 0;
}

}  // namespace

std::vector<NodeReport> Session::inspect() const {
  std::vector<NodeReport> out;
  const Graph& g = plan_->graph;
  const std::map<std::string, int64_t> node_us = executor_->profiled_node_median_us();
  int64_t total_us = 0;
  for (const auto& [name, us] : node_us) total_us += us;
  for (const PlannedNode& p : plan_->steps) {
    const Node& n = g.node(p.node);
    NodeReport r;
    r.name = n.name;
    r.op = n.domain.empty() ? n.op_type : n.domain + "." + n.op_type;
    const Tensor* weight = nullptr;
    for (ValueId in : n.inputs) {
      r.input_types.push_back(in == kNoValue ? "" : value_type(g.value(in)));
      if (in == kNoValue || !g.value(in).constant) continue;
      const Tensor& c = *g.value(in).constant;
      const bool numeric_weight = c.dtype() == DType::kFloat32 || c.dtype() == DType::kFloat16 ||
                                  c.dtype() == DType::kBFloat16 || c.dtype() == DType::kInt8 ||
                                  c.dtype() == DType::kUInt8;  // not index or shape tables
      if (numeric_weight && c.rank() >= 2 && (!weight || c.num_elements() > weight->num_elements())) weight = &c;
    }
    for (ValueId o : n.outputs) r.output_types.push_back(o == kNoValue ? "" : value_type(g.value(o)));
    r.kernel = p.kernel_name;
    r.declined = p.declined;
    r.kernel_variant = p.report.variant;
    r.kernel_notes = p.report.notes;
    r.packed_weight_bytes = p.report.packed_weight_bytes;
    if (total_us > 0) {
      auto it = node_us.find(n.name);
      r.time_share = it == node_us.end() ? 0.0 : static_cast<double>(it->second) / static_cast<double>(total_us);
    }
    if (weight) weight_stats(*weight, r);
    out.push_back(std::move(r));
  }
  return out;
}

std::string Session::isa() const { return jit::isa_name(plan_->isa_cap); }
int Session::threads() const { return plan_->threads; }
std::string Session::memory_summary() const { return executor_->memory_summary(); }

bool Session::SharesCompiledPlanWith(const Session& other) const { return plan_ == other.plan_; }

std::string Session::EndProfiling() { return executor_->end_profiling(); }

}  // namespace sparsert
