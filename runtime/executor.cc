#include "runtime/executor.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <thread>
#include <vector>

namespace sparsert {
namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') { out += '\\'; out += c; }
    else if (static_cast<unsigned char>(c) < 0x20) out += ' ';
    else out += c;
  }
  return out;
}

}  // namespace

Executor::Executor(const Plan& plan, const SessionOptions& options)
    : plan_(plan),
      options_(options),
      profiling_(!options.profile_file.empty()),
      epoch_(std::chrono::steady_clock::now()) {}

Status Executor::validate_inputs(const std::vector<NamedTensor>& inputs, std::vector<const Tensor*>& by_value,
                                 std::map<std::string, int64_t>& bound) const {
  const Graph& g = plan_.graph;
  for (const NamedTensor& nt : inputs) {
    ValueId id = g.find_value(nt.name);
    size_t idx = 0;
    for (; idx < g.inputs().size(); ++idx)
      if (g.inputs()[idx] == id) break;
    if (id == kNoValue || idx == g.inputs().size()) {
      std::string names;
      for (const TensorInfo& ti : plan_.inputs) names += (names.empty() ? "'" : ", '") + ti.name + "'";
      return InvalidArgument("unknown input '", nt.name, "'; the model's inputs are ", names);
    }
    if (by_value[id]) return InvalidArgument("input '", nt.name, "' is given twice");
    const TensorInfo& want = plan_.inputs[idx];
    const Tensor& t = nt.tensor;
    bool ok = t.dtype() == want.dtype || want.dtype == DType::kUndefined;
    if (want.has_shape) {
      ok = ok && t.rank() == static_cast<int>(want.shape.size());
      for (size_t d = 0; ok && d < want.shape.size(); ++d) {
        if (want.shape[d] >= 0) ok = t.dim(static_cast<int>(d)) == want.shape[d];
      }
    }
    if (!ok) return InvalidArgument("input '", nt.name, "': expected ", want.type_string(), ", got ", t.type_string());
    for (size_t d = 0; want.has_shape && d < want.shape.size(); ++d) {
      const std::string& sym = want.symbols[d];
      if (want.shape[d] >= 0 || sym.empty()) continue;
      auto [it, inserted] = bound.emplace(sym, t.dim(static_cast<int>(d)));
      if (!inserted && it->second != t.dim(static_cast<int>(d)))
        return InvalidArgument("input '", nt.name, "': dim '", sym, "' is ", t.dim(static_cast<int>(d)),
                               " but another input bound it to ", it->second);
    }
    if (t.num_elements() > 0 && !t.raw_data())
      return InvalidArgument("input '", nt.name, "' has no data");
    by_value[id] = &nt.tensor;
  }
  for (size_t i = 0; i < g.inputs().size(); ++i)
    if (!by_value[g.inputs()[i]])
      return InvalidArgument("input '", plan_.inputs[i].name, "' (", plan_.inputs[i].type_string(), ") is missing");
  return Status::OK();
}

Status Executor::check_inferred(const Node& node, const std::vector<Tensor>& outs,
                                std::map<std::string, int64_t>& bound) const {
  for (size_t i = 0; i < node.outputs.size() && i < outs.size(); ++i) {
    if (node.outputs[i] == kNoValue || outs[i].empty()) continue;
    const Value& v = plan_.graph.value(node.outputs[i]);
    const Tensor& t = outs[i];
    bool ok = v.type.dtype == DType::kUndefined || v.type.dtype == t.dtype();
    ok = ok && (!v.type.has_shape || v.type.dims.size() == static_cast<size_t>(t.rank()));
    for (size_t d = 0; ok && v.type.has_shape && d < v.type.dims.size(); ++d) {
      const Dim& want = v.type.dims[d];
      const int64_t got = t.dim(static_cast<int>(d));
      if (want.is_static()) ok = want.value == got;
      else if (!want.symbol.empty()) ok = bound.emplace(want.symbol, got).first->second == got;
    }
    if (!ok)
      return Internal(node.describe(), ": output '", v.name, "' is ", t.type_string(), " but shape inference said ",
                      v.type.to_string());
  }
  return Status::OK();
}

StatusOr<std::vector<NamedTensor>> Executor::run(const std::vector<NamedTensor>& inputs,
                                                 const std::vector<std::string>& output_names,
                                                 bool keep_intermediates) const {
  const Graph& g = plan_.graph;
  std::vector<const Tensor*> given(g.num_values(), nullptr);
  std::map<std::string, int64_t> bound;  // symbolic dim -> its value in this run
  SPARSERT_RETURN_IF_ERROR(validate_inputs(inputs, given, bound));

  std::vector<ValueId> wanted;
  if (output_names.empty()) {
    wanted = g.outputs();
  } else {
    for (const std::string& name : output_names) {
      ValueId id = g.find_value(name);
      if (id == kNoValue || !g.value(id).is_graph_output) return InvalidArgument("unknown output '", name, "'");
      wanted.push_back(id);
    }
  }

  std::vector<Tensor> env(g.num_values());
  for (size_t v = 0; v < g.num_values(); ++v) {
    if (given[v]) env[v] = *given[v];
    else if (g.value(static_cast<ValueId>(v)).constant) env[v] = *g.value(static_cast<ValueId>(v)).constant;
  }

  // Node outputs come from this run's arena when a pattern for these input
  // shapes exists; otherwise this run records one (runtime/run_memory.h).
  std::vector<const Tensor*> ordered_inputs;
  for (ValueId in : g.inputs()) ordered_inputs.push_back(given[in]);
  const std::string signature = MemoryPlanner::signature(ordered_inputs);
  std::unique_ptr<MemoryRecorder> recorder;
  std::unique_ptr<ArenaAllocator> arena_alloc;
  std::shared_ptr<char> arena;
  std::shared_ptr<const MemoryPattern> pattern;
  if (options_.enable_mem_pattern && !keep_intermediates) {
    pattern = memory_.find(signature);
    if (pattern && pattern->total_bytes > 0) {
      arena = memory_.take_arena(pattern->total_bytes);
      if (arena) arena_alloc = std::make_unique<ArenaAllocator>(*pattern, arena.get());
    } else if (!pattern) {
      recorder = std::make_unique<MemoryRecorder>(g, plan_.steps.size());
    }
  }
  OutputAllocator* allocator = arena_alloc ? static_cast<OutputAllocator*>(arena_alloc.get()) : recorder.get();

  // Every parallel region of this run (ours and oneDNN's) uses the session's count.
  omp_set_num_threads(plan_.threads);
  std::vector<ProfileEvent> local_events;
  std::vector<const Tensor*> in_ptrs;
  std::vector<Tensor> outs;
  for (size_t step_index = 0; step_index < plan_.steps.size(); ++step_index) {
    const PlannedNode& step = plan_.steps[step_index];
    const Node& node = g.node(step.node);
    in_ptrs.clear();
    for (ValueId in : node.inputs) in_ptrs.push_back(in == kNoValue ? nullptr : &env[in]);
    outs.assign(node.outputs.size(), Tensor());
    if (recorder) recorder->begin_step(static_cast<int>(step_index));
    if (arena_alloc) arena_alloc->begin_step(static_cast<int>(step_index));
    KernelContext ctx(node, in_ptrs, &outs, allocator);
    auto t0 = std::chrono::steady_clock::now();
    Status status = step.kernel(ctx);
    if (!status.ok()) {
      if (status.message().find(node.describe()) == std::string::npos) status = status.with_context(node.describe());
      return status;
    }
    if (profiling_) {
      auto t1 = std::chrono::steady_clock::now();
      local_events.push_back({node.name, node.op_type, step.kernel_name,
                              std::chrono::duration_cast<std::chrono::microseconds>(t0 - epoch_).count(),
                              std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count(),
                              std::hash<std::thread::id>()(std::this_thread::get_id())});
    }
    if (options_.check_inferred_shapes) SPARSERT_RETURN_IF_ERROR(check_inferred(node, outs, bound));
    if (recorder) recorder->end_step(node, outs, step.schema->in_place);
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      if (node.outputs[i] == kNoValue) continue;
      if (outs[i].empty()) return Internal(node.describe(), ": kernel did not produce output ", i);
      env[node.outputs[i]] = std::move(outs[i]);
    }
    if (keep_intermediates) continue;
    for (ValueId v : step.release_after) {
      if (recorder) recorder->release(v);
      env[v] = Tensor();
    }
  }
  if (profiling_) {
    std::lock_guard<std::mutex> lock(profile_mu_);
    if (profiling_) events_.insert(events_.end(), local_events.begin(), local_events.end());
  }
  std::vector<NamedTensor> result;
  if (keep_intermediates)
    for (const PlannedNode& step : plan_.steps)
      for (ValueId o : g.node(step.node).outputs)
        if (o != kNoValue && !g.value(o).is_graph_output) result.push_back({g.value(o).name, env[o]});
  for (ValueId id : wanted) {
    Tensor t = env[id];
    // The pattern keeps graph outputs out of the arena; should a kernel still hand
    // one back in it (a shape the pattern did not foresee), copy it out.
    if (arena_alloc && t.raw_data() && arena_alloc->owns(t.raw_data())) { SPARSERT_ASSIGN_OR_RETURN(t, t.clone()); }
    result.push_back({g.value(id).name, std::move(t)});
  }
  env.clear();
  if (arena) memory_.give_back(std::move(arena), pattern->total_bytes);
  if (recorder) memory_.add(signature, recorder->finish(g.outputs()));
  return result;
}

std::string Executor::memory_summary() const {
  auto p = memory_.latest();
  if (!p) return "";
  char buf[128];
  std::snprintf(buf, sizeof buf, "arena %.1f MiB for %d node outputs (%d in place)", p->total_bytes / 1048576.0,
                p->blocks, p->in_place);
  return buf;
}

std::map<std::string, int64_t> Executor::profiled_node_median_us() const {
  std::lock_guard<std::mutex> lock(profile_mu_);
  std::map<std::string, std::vector<int64_t>> runs;
  for (const ProfileEvent& e : events_) runs[e.name].push_back(e.duration_us);
  std::map<std::string, int64_t> us;
  for (auto& [name, d] : runs) {
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
    us[name] = d[d.size() / 2];
  }
  return us;
}

std::string Executor::end_profiling() {
  std::lock_guard<std::mutex> lock(profile_mu_);
  if (!profiling_.exchange(false)) return "";
  std::ofstream f(options_.profile_file);
  f << "[\n";
  for (size_t i = 0; i < events_.size(); ++i) {
    const ProfileEvent& e = events_[i];
    f << "  {\"name\":\"" << json_escape(e.name) << "\",\"cat\":\"node\",\"ph\":\"X\",\"ts\":" << e.start_us
      << ",\"dur\":" << e.duration_us << ",\"pid\":1,\"tid\":" << (e.thread % 100000) << ",\"args\":{\"op\":\""
      << json_escape(e.op) << "\",\"kernel\":\"" << json_escape(e.kernel) << "\"}}" << (i + 1 < events_.size() ? "," : "")
      << "\n";
  }
  f << "]\n";
  return options_.profile_file;
}

}  // namespace sparsert
