// sparse_run: run an ONNX model with sparsert.
//   sparse_run                      run the bundled demo (dense vs 90%-pruned tiny BERT)
//   sparse_run MODEL.onnx [opts]    run MODEL on random inputs, print outputs and latency
// Exit codes: 0 ok, 1 runtime error, 2 usage error.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "include/sparsert/sparsert.h"
#include "jit/isa.h"
#include "jit/spmm/spmm.h"
#include "tools/bench.h"
#include "tools/npy.h"
#include "tools/prune.h"

namespace fs = std::filesystem;
using namespace sparsert;

namespace {

struct RunConfig {
  std::string model;
  std::vector<std::string> dims;
  int64_t batch = -1;                    // --batch: the symbolic first dim of every input (trtexec's --batch)
  int iters = 10;
  int warmup = 2;
  SessionOptions options;
  std::vector<std::string> disabled_passes;
  std::vector<std::string> disabled_kernels;
  bool dump_graph = false;
  bool check_accuracy = false;  // also run the reference plan and compare
  bool bench = false;                    // `sparse_run bench`: latency percentiles, throughput, --json
  bool inspect = false;                  // `sparse_run inspect`: per-layer table, then exit
  bool explain = false;                  // inspect: every declined kernel and why
  bool per_node = false;                 // check: compare every intermediate value both plans compute
  bench::Config bench_config;
  std::string json_path;
  std::vector<std::string> input_files;  // NAME=FILE.npy
  std::string output_dir;                // save outputs as .npy here
};

struct Timing {
  double median_ms = 0, min_ms = 0, p90_ms = 0;
};

std::string summarize(const Tensor& t) {
  std::string s = t.type_string();
  const int64_t n = t.num_elements();
  if (n == 0) return s + " (empty)";
  double mn = INFINITY, mx = -INFINITY, sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = t.element_as_double(i);
    mn = std::min(mn, v);
    mx = std::max(mx, v);
    sum += v;
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "  min %.4g  max %.4g  mean %.4g  first [", mn, mx, sum / static_cast<double>(n));
  s += buf;
  for (int64_t i = 0; i < std::min<int64_t>(n, 4); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.4g", i ? ", " : "", t.element_as_double(i));
    s += buf;
  }
  return s + (n > 4 ? ", ...]" : "]");
}

StatusOr<std::map<std::string, int64_t>> parse_dims(const std::vector<std::string>& specs) {
  std::map<std::string, int64_t> dims;
  for (const std::string& spec : specs) {
    auto eq = spec.find('=');
    char* end = nullptr;
    long long v = eq == std::string::npos ? -1 : std::strtoll(spec.c_str() + eq + 1, &end, 10);
    if (eq == std::string::npos || eq == 0 || !end || *end || v < 0)
      return InvalidArgument("--dim expects NAME=VALUE with VALUE >= 0, got '", spec, "'");
    dims[spec.substr(0, eq)] = v;
  }
  return dims;
}

// --input NAME=FILE.npy, FILE.npz (arrays named like inputs) or DIR (NAME.npy
// files, named by npy::file_stem as --output writes them). Inputs no file names stay random; a named array the model
// does not have is an error, so a typo is never silently random data.
Status read_input_files(const std::vector<std::string>& specs, std::vector<NamedTensor>& inputs,
                        std::vector<bool>& from_file) {
  auto set = [&](const std::string& name, Tensor t, const std::string& source) -> Status {
    size_t i = 0;
    while (i < inputs.size() && inputs[i].name != name) ++i;
    if (i == inputs.size()) return InvalidArgument("--input ", source, ": the model has no input '", name, "'");
    inputs[i].tensor = std::move(t);
    from_file[i] = true;
    return Status::OK();
  };
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    std::error_code ec;
    if (eq != std::string::npos && eq > 0) {
      SPARSERT_ASSIGN_OR_RETURN(Tensor t, npy::read(spec.substr(eq + 1)));
      SPARSERT_RETURN_IF_ERROR(set(spec.substr(0, eq), std::move(t), "'" + spec + "'"));
    } else if (fs::is_directory(spec, ec)) {
      int found = 0;
      for (size_t i = 0; i < inputs.size(); ++i) {
        const fs::path path = fs::path(spec) / (npy::file_stem(inputs[i].name) + ".npy");
        if (!fs::exists(path, ec)) continue;
        SPARSERT_ASSIGN_OR_RETURN(inputs[i].tensor, npy::read(path.string()));
        from_file[i] = true;
        ++found;
      }
      if (found == 0) return InvalidArgument("--input '", spec, "': no NAME.npy file there for any model input");
    } else if (spec.size() > 4 && spec.compare(spec.size() - 4, 4, ".npz") == 0) {
      SPARSERT_ASSIGN_OR_RETURN(auto arrays, npy::read_npz(spec));
      for (auto& [name, t] : arrays) SPARSERT_RETURN_IF_ERROR(set(name, std::move(t), "'" + spec + "'"));
    } else {
      return InvalidArgument("--input expects NAME=FILE.npy, FILE.npz or a directory, got '", spec, "'");
    }
  }
  return Status::OK();
}

// --batch N sets the first dim of each input where it is symbolic, whatever
// its name ("batch", "batch_size", "N"); an explicit --dim of that name wins.
std::map<std::string, int64_t> with_batch(const Session& s, std::map<std::string, int64_t> dims, int64_t batch) {
  if (batch < 0) return dims;
  for (const TensorInfo& in : s.inputs())
    if (in.has_shape && !in.symbols.empty() && !in.symbols[0].empty()) dims.emplace(in.symbols[0], batch);
  return dims;
}

StatusOr<Timing> time_runs(const Session& s, const std::vector<NamedTensor>& inputs, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) SPARSERT_RETURN_IF_ERROR(s.Run(inputs).status());
  std::vector<double> ms;
  for (int i = 0; i < std::max(iters, 1); ++i) {
    auto t0 = std::chrono::steady_clock::now();
    SPARSERT_RETURN_IF_ERROR(s.Run(inputs).status());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return Timing{ms[ms.size() / 2], ms.front(), ms[std::min(ms.size() - 1, ms.size() * 9 / 10)]};
}

// Per output: max abs error, the same relative to the reference output's
// scale (max |value|, at least 1), and cosine similarity; `worst` gets the
// largest relative error.
struct Agreement {
  double max_abs = 0, relative = 0, cosine = 1;  // relative: max_abs / max(1, max |reference|)
};

Agreement agreement(const Tensor& g, const Tensor& w) {
  double max_abs = 0, scale = 1, dot = 0, gg = 0, ww = 0;
  for (int64_t k = 0; k < g.num_elements(); ++k) {
    const double a = g.element_as_double(k), b = w.element_as_double(k);
    max_abs = std::max(max_abs, std::isnan(a) != std::isnan(b) ? INFINITY : std::fabs(a - b));
    scale = std::max(scale, std::fabs(b));
    dot += a * b;
    gg += a * a;
    ww += b * b;
  }
  return {max_abs, max_abs / scale, gg > 0 && ww > 0 ? dot / std::sqrt(gg * ww) : (gg == ww ? 1.0 : 0.0)};
}

void print_accuracy(const std::vector<NamedTensor>& got, const std::vector<NamedTensor>& want, double* worst) {
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const Tensor &g = got[i].tensor, &w = want[i].tensor;
    if (g.shape() != w.shape() || g.dtype() != w.dtype()) {
      std::printf("check    %s: shapes/types differ: %s vs reference %s\n", got[i].name.c_str(), g.type_string().c_str(),
                  w.type_string().c_str());
      *worst = INFINITY;
      continue;
    }
    const Agreement a = agreement(g, w);
    *worst = std::max(*worst, a.relative);
    std::printf("check    %s: max abs error %.3g, relative to output scale %.3g, cosine similarity %.6f\n",
                got[i].name.c_str(), a.max_abs, a.relative, a.cosine);
  }
}

// check --per-node: every value both plans compute (same name, type and
// shape; fused-away intermediates exist only in the reference plan), in the
// optimized plan's order; prints the first value over 1e-3 relative error
// (where the plans part) and the `top` worst.
Status print_per_node(const Session& fast, const Session& reference, const std::vector<NamedTensor>& inputs, int top) {
  SPARSERT_ASSIGN_OR_RETURN(auto got, fast.RunKeepingIntermediates(inputs));
  SPARSERT_ASSIGN_OR_RETURN(auto want, reference.RunKeepingIntermediates(inputs));
  std::map<std::string, const Tensor*> by_name;
  for (const NamedTensor& w : want) by_name[w.name] = &w.tensor;
  struct Row {
    std::string name;
    Agreement a;
  };
  std::vector<Row> rows;
  for (const NamedTensor& g : got) {
    auto it = by_name.find(g.name);
    if (it == by_name.end() || g.name.empty()) continue;
    const Tensor& w = *it->second;
    if (w.shape() != g.tensor.shape() || w.dtype() != g.tensor.dtype() || g.tensor.dtype() == DType::kString) continue;
    rows.push_back({g.name, agreement(g.tensor, w)});
  }
  std::printf("per-node %zu values compared (the optimized plan computes %zu, the reference plan %zu; fused-away "
              "intermediates exist only in the reference)\n", rows.size(), got.size(), want.size());
  for (const Row& r : rows)
    if (r.a.relative > 1e-3) {
      std::printf("per-node first value over 1e-3 relative error: %s (max abs %.3g, relative %.3g, cosine %.6f)\n",
                  r.name.c_str(), r.a.max_abs, r.a.relative, r.a.cosine);
      break;
    }
  std::vector<Row> worst = rows;
  std::stable_sort(worst.begin(), worst.end(), [](const Row& x, const Row& y) { return x.a.relative > y.a.relative; });
  for (size_t i = 0; i < worst.size() && i < static_cast<size_t>(top); ++i)
    std::printf("per-node %-60s max abs %.3g  relative %.3g  cosine %.6f\n", worst[i].name.c_str(), worst[i].a.max_abs,
                worst[i].a.relative, worst[i].a.cosine);
  return Status::OK();
}

// Loads, runs once (printing outputs), then times. Returns the median latency.
StatusOr<Timing> run_model(const RunConfig& cfg, const std::map<std::string, int64_t>& dims, bool print_outputs) {
  auto t0 = std::chrono::steady_clock::now();
  SPARSERT_ASSIGN_OR_RETURN(auto session, Session::Create(cfg.model, cfg.options));
  double load_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("model    %s\n", cfg.model.c_str());
  std::printf("session  %zu nodes (%s), created in %.1f ms, ISA cap %s, %d thread(s)\n", session->num_nodes(),
              session->op_summary().c_str(), load_ms, session->isa().c_str(), session->threads());
  std::printf("kernels  %s\n", session->kernel_summary().c_str());
  if (cfg.dump_graph) std::printf("%s", session->graph_dump().c_str());
  SPARSERT_ASSIGN_OR_RETURN(auto inputs, session->RandomInputs(with_batch(*session, dims, cfg.batch), 0));
  std::vector<bool> from_file(inputs.size(), false);
  SPARSERT_RETURN_IF_ERROR(read_input_files(cfg.input_files, inputs, from_file));
  for (size_t i = 0; i < inputs.size(); ++i)
    std::printf("input    %s: %s%s\n", inputs[i].name.c_str(), inputs[i].tensor.type_string().c_str(),
                from_file[i] ? " (from file)" : "");
  SPARSERT_ASSIGN_OR_RETURN(auto outputs, session->Run(inputs));
  if (!cfg.output_dir.empty()) {
    std::error_code ec;
    fs::create_directories(cfg.output_dir, ec);
    if (ec) return InvalidArgument("--output '", cfg.output_dir, "': ", ec.message());
    for (const NamedTensor& out : outputs) {
      const std::string path = (fs::path(cfg.output_dir) / (npy::file_stem(out.name) + ".npy")).string();
      SPARSERT_RETURN_IF_ERROR(npy::write(path, out.tensor));
      std::printf("saved    %s -> %s\n", out.name.c_str(), path.c_str());
    }
  }
  if (print_outputs)
    for (const NamedTensor& out : outputs) std::printf("output   %s: %s\n", out.name.c_str(), summarize(out.tensor).c_str());
  if (cfg.check_accuracy) {
    // The reference plan: no graph passes, reference kernels only (sparse_run --opt-level 0).
    SessionOptions ref_options = cfg.options;
    ref_options.optimization_level = 0;
    ref_options.profile_file.clear();
    SPARSERT_ASSIGN_OR_RETURN(auto reference, Session::Create(cfg.model, ref_options));
    SPARSERT_ASSIGN_OR_RETURN(auto want, reference->Run(inputs));
    double worst = 0;
    print_accuracy(outputs, want, &worst);
    std::printf("check    worst relative error %.3g vs the reference plan (no passes, reference kernels)\n", worst);
    if (cfg.per_node) SPARSERT_RETURN_IF_ERROR(print_per_node(*session, *reference, inputs, 10));
  }
  Timing t;
  if (cfg.bench) {
    bench::Config bc = cfg.bench_config;
    bc.warmup = cfg.warmup;
    bc.iters = cfg.iters;
    bench::ProgressBar bar(stderr);
    if (isatty(fileno(stderr))) bc.progress = [&bar](double done) { bar.update(done); };  // on a terminal only
    auto run = bench::run(*session, inputs, bc);
    bar.finish();
    SPARSERT_ASSIGN_OR_RETURN(bench::Result r, std::move(run));
    t = Timing{r.percentile(50), r.percentile(0), r.percentile(90)};
    std::printf("latency  median %.3f ms  min %.3f ms  p90 %.3f ms  p99 %.3f ms  (%zu runs, %d stream(s), after %d "
                "warmup)\n", r.percentile(50), r.percentile(0), r.percentile(90), r.percentile(99), r.latency_ms.size(),
                r.streams, cfg.warmup);
    std::printf("throughput %.2f inferences/s over %.2f s\n", r.throughput(), r.wall_s);
    if (!cfg.json_path.empty()) {
      std::string dims_text;
      for (const std::string& d : cfg.dims) dims_text += (dims_text.empty() ? "" : ",") + d;
      FILE* f = std::fopen(cfg.json_path.c_str(), "w");
      if (!f) return InvalidArgument("--json: cannot write '", cfg.json_path, "'");
      const std::string json = bench::to_json(r, cfg.model, dims_text, *session);
      std::fwrite(json.data(), 1, json.size(), f);
      std::fclose(f);
      std::printf("json     %s\n", cfg.json_path.c_str());
    }
  } else {
    SPARSERT_ASSIGN_OR_RETURN(t, time_runs(*session, inputs, cfg.warmup, cfg.iters));
    std::printf("latency  median %.3f ms  min %.3f ms  p90 %.3f ms  (%d runs after %d warmup)\n", t.median_ms,
                t.min_ms, t.p90_ms, std::max(cfg.iters, 1), cfg.warmup);
  }
  const std::string memory = session->memory_summary();
  if (!memory.empty()) std::printf("memory   %s\n", memory.c_str());
  std::string profile = session->EndProfiling();
  if (!profile.empty()) std::printf("profile  %s (Chrome trace; open in Perfetto)\n", profile.c_str());
  return t;
}

// `sparse_run inspect`: one row per node that has a weight or a fast kernel
// (op, output type, weight type, zeros, all-zero 4x1 blocks, kernel), the
// remaining reference-kernel nodes counted, and the weight total; --explain
// adds why each kernel tried before the chosen one declined. With --profile
// it first runs the model (--warmup + --iters runs on random inputs of
// --dim/--batch) and adds each node's share of the time.
Status inspect_model(const RunConfig& cfg, const std::map<std::string, int64_t>& dims) {
  SPARSERT_ASSIGN_OR_RETURN(auto session, Session::Create(cfg.model, cfg.options));
  std::printf("model    %s\nsession  %zu nodes, ISA cap %s, %d thread(s)\n", cfg.model.c_str(), session->num_nodes(),
              session->isa().c_str(), session->threads());
  const bool timed = !cfg.options.profile_file.empty();
  if (timed) {
    SPARSERT_ASSIGN_OR_RETURN(auto inputs, session->RandomInputs(with_batch(*session, dims, cfg.batch), 0));
    for (int i = 0; i < cfg.warmup; ++i) SPARSERT_RETURN_IF_ERROR(session->Run(inputs).status());
    for (int i = 0; i < std::max(cfg.iters, 1); ++i) SPARSERT_RETURN_IF_ERROR(session->Run(inputs).status());
    std::printf("profile  %d warmup + %d timed runs (time: each node's median over the runs, as a share of their sum)\n",
                cfg.warmup, std::max(cfg.iters, 1));
  }
  std::printf("\n%-48s %-26s %-24s %-18s %6s %6s %6s  %s\n", "node", "op", "output", "weight", "zeros", "0-4x1",
              timed ? "time" : "", "kernel");
  std::map<std::string, int> others;
  int64_t weight_bytes = 0, packed_bytes = 0, packed_layers = 0;
  double unlisted_share = 0;  // of the profiled time
  for (const NodeReport& r : session->inspect()) {
    weight_bytes += r.weight_bytes;
    packed_bytes += r.packed_weight_bytes;
    packed_layers += r.packed_weight_bytes > 0;
    if (r.weight.empty() && r.kernel == "reference") {
      ++others[r.kernel];
      unlisted_share += std::max(r.time_share, 0.0);
      continue;
    }
    std::string name = r.name.size() > 48 ? "..." + r.name.substr(r.name.size() - 45) : r.name;
    const std::string output = r.output_types.empty() ? "" : r.output_types[0];
    const std::string kernel = r.kernel_variant.empty() ? r.kernel : r.kernel + " [" + r.kernel_variant + "]";
    char time[16] = "";
    if (r.time_share >= 0) std::snprintf(time, sizeof time, "%5.1f%%", 100 * r.time_share);
    if (r.weight.empty())
      std::printf("%-48s %-26s %-24s %-18s %6s %6s %6s  %s\n", name.c_str(), r.op.c_str(), output.c_str(), "-", "", "",
                  time, kernel.c_str());
    else
      std::printf("%-48s %-26s %-24s %-18s %5.1f%% %5.1f%% %6s  %s\n", name.c_str(), r.op.c_str(), output.c_str(),
                  r.weight.c_str(), 100 * r.weight_zeros, 100 * r.weight_zero_blocks_4x1, time, kernel.c_str());
    if (cfg.explain) {
      for (const std::string& d : r.declined) std::printf("    declined %s\n", d.c_str());
      for (const std::string& note : r.kernel_notes) std::printf("    %s\n", note.c_str());
    }
  }
  std::string rest;
  int count = 0;
  for (const auto& [k, n] : others) {
    rest += (rest.empty() ? "" : ", ") + k + " x" + std::to_string(n);
    count += n;
  }
  const jit::KernelCacheStats jit_stats = jit::spmm_kernel_cache_stats();
  std::printf("\n%d more nodes on reference kernels without a weight (shape and index ops): %s\n"
              "weights  %.1f MiB as stored in the model; %.1f MiB packed for the sparse kernels of %lld layer(s)\n"
              "jit      %lld SpMM kernel(s) generated in this process, %lld lookup(s) served from the cache\n",
              count, rest.c_str(), static_cast<double>(weight_bytes) / (1 << 20),
              static_cast<double>(packed_bytes) / (1 << 20), static_cast<long long>(packed_layers),
              static_cast<long long>(jit_stats.kernels), static_cast<long long>(jit_stats.hits));
  if (timed)
    std::printf("time     %.1f%% in the nodes not listed; trace: %s (Chrome trace; open in Perfetto)\n",
                100 * unlisted_share, session->EndProfiling().c_str());
  return Status::OK();
}

std::string find_demo_dir(const char* argv0) {
  if (const char* env = std::getenv("SPARSERT_DEMO_DIR")) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) exe = fs::absolute(argv0, ec);
  fs::path dir = exe.parent_path();
  for (const fs::path& cand : {dir / "models" / "demo", dir / ".." / "share" / "sparsert" / "models" / "demo"})
    if (fs::exists(cand / "bert_tiny.onnx", ec)) return cand.string();
  return "";
}

constexpr int kDemoRounds = 30;
constexpr int kDemoRunsPerRound = 5;

// Median latency ratio a/b over alternating rounds of runs of two models.
StatusOr<double> interleaved_speedup(const SessionOptions& options, const std::string& a_path,
                                     const std::string& b_path, const std::map<std::string, int64_t>& dims) {
  SPARSERT_ASSIGN_OR_RETURN(auto a, Session::Create(a_path, options));
  SPARSERT_ASSIGN_OR_RETURN(auto b, Session::Create(b_path, options));
  SPARSERT_ASSIGN_OR_RETURN(auto inputs, a->RandomInputs(dims, 0));
  std::vector<double> ratios;
  for (int r = 0; r < kDemoRounds; ++r) {
    SPARSERT_ASSIGN_OR_RETURN(Timing ta, time_runs(*a, inputs, 1, kDemoRunsPerRound));
    SPARSERT_ASSIGN_OR_RETURN(Timing tb, time_runs(*b, inputs, 1, kDemoRunsPerRound));
    ratios.push_back(ta.median_ms / std::max(tb.median_ms, 1e-9));
  }
  std::sort(ratios.begin(), ratios.end());
  return ratios[ratios.size() / 2];
}

int run_demo(RunConfig cfg, const char* argv0) {
  std::string dir = find_demo_dir(argv0);
  if (dir.empty()) {
    std::fprintf(stderr,
                 "sparse_run: the demo models are missing (looked next to the executable in models/demo and in "
                 "../share/sparsert/models/demo); run ./scripts/setup.sh, or give a model: sparse_run MODEL.onnx\n");
    return 1;
  }
  std::map<std::string, int64_t> dims = {{"batch", 1}, {"sequence", 64}};
  std::printf("sparsert demo: a tiny BERT encoder (2 layers, hidden 128), dense and with its linear weights\n"
              "pruned 90%% in 4x1 blocks, on the same random inputs (batch 1, sequence 64).\n\n");
  std::printf("CPU      %s, detected ISA %s\n\n", jit::cpu_brand().c_str(), jit::isa_name(jit::detected_isa()).c_str());
  cfg.model = dir + "/bert_tiny.onnx";
  std::printf("== dense model ==\n");
  auto dense = run_model(cfg, dims, true);
  if (!dense.ok()) { std::fprintf(stderr, "sparse_run: %s\n", dense.status().to_string().c_str()); return 1; }
  cfg.model = dir + "/bert_tiny_4x1_90.onnx";
  std::printf("\n== 90%% 4x1-block-pruned model ==\n");
  auto sparse = run_model(cfg, dims, true);
  if (!sparse.ok()) { std::fprintf(stderr, "sparse_run: %s\n", sparse.status().to_string().c_str()); return 1; }
  // The speedup is measured separately, alternating the two models so machine
  // noise hits both alike (two back-to-back timings of ~2 ms runs differ by 20%).
  auto ratio = interleaved_speedup(cfg.options, dir + "/bert_tiny.onnx", dir + "/bert_tiny_4x1_90.onnx", dims);
  if (!ratio.ok()) { std::fprintf(stderr, "sparse_run: %s\n", ratio.status().to_string().c_str()); return 1; }
  std::printf("\nspeedup  sparse model vs dense model: %.2fx (median of %d alternating rounds of %d runs each)\n",
              *ratio, kDemoRounds, kDemoRunsPerRound);
  std::printf("what ran: the kernels listed for each model above. Linear layers whose weights the cost model\n"
              "          expects to be faster sparse run on sparsert's JIT SpMM kernels (sparse_linear_f32, with\n"
              "          bias/GELU/residual fused); the rest on oneDNN, vectorized and reference kernels. In a model\n"
              "          this small (hidden 128) attention, LayerNorm and shape ops are a large share of the time,\n"
              "          so the end-to-end gain is far below the layer-level one (see README, Performance).\n");
  return 0;
}

}  // namespace

// `sparse_run prune MODEL -o OUT --sparsity S --pattern P [--ops ...]`.
int prune_main(std::vector<std::string> args) {
  CLI::App app{"sparse_run prune: magnitude-prune MatMul/Gemm/Conv weights so the sparse kernels can be tried.\n\n"
               "Example:\n  sparse_run prune model.onnx -o model_4x1_90.onnx --sparsity 0.9 --pattern 4x1"};
  app.name("sparse_run prune");
  std::string in, out, ops = "MatMul,Gemm,Conv";
  prune::Options o;
  app.add_option("model", in, "ONNX model to prune")->required();
  app.add_option("-o,--output", out, "Where to write the pruned model")->required();
  app.add_option("--sparsity", o.sparsity, "Fraction of weights (or blocks) to zero, e.g. 0.9")->required();
  app.add_option("--pattern", o.pattern, "unstructured | 4x1 (4 output channels x 1 input) | 1x4")
      ->check(CLI::IsMember({"unstructured", "4x1", "1x4"}));
  app.add_option("--ops", ops, "Comma-separated op types whose weights to prune");
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  o.ops.clear();
  for (size_t at = 0; at <= ops.size();) {
    const size_t comma = std::min(ops.find(',', at), ops.size());
    if (comma > at) o.ops.push_back(ops.substr(at, comma - at));
    at = comma + 1;
  }
  auto report = prune::prune_file(in, out, o);
  if (!report.ok()) { std::fprintf(stderr, "sparse_run: %s\n", report.status().to_string().c_str()); return 1; }
  for (const prune::Pruned& p : *report) {
    std::string shape = "[";
    for (size_t i = 0; i < p.shape.size(); ++i) {
      if (i) shape += ',';
      shape += std::to_string(p.shape[i]);
    }
    shape += ']';
    std::printf("%-7s %-60s %-20s sparsity %.3f\n", p.op.c_str(), p.name.c_str(), shape.c_str(), p.sparsity);
  }
  std::printf("pruned %zu weights -> %s\n", report->size(), out.c_str());
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "prune") return prune_main(std::vector<std::string>(argv + 2, argv + argc));
  CLI::App app{"sparse_run: run ONNX models with sparsert (sparse and quantized CPU inference).\n"
               "With no MODEL, runs the bundled demo.\n\n"
               "Examples:\n"
               "  sparse_run\n"
               "  sparse_run model.onnx --batch 8 --dim sequence=128 --threads 2\n"
               "  sparse_run model.onnx --profile trace.json --iters 50\n"
               "  sparse_run model.onnx --check-accuracy   (or: sparse_run check model.onnx)\n"
               "  sparse_run bench model.onnx --time 10 --streams 2 --json result.json\n"
               "  sparse_run inspect model.onnx --explain\n"
               "  sparse_run prune model.onnx -o pruned.onnx --sparsity 0.9 --pattern 4x1"};
  RunConfig cfg;
  app.add_option("model", cfg.model, "ONNX model to run (omit for the demo)");
  app.add_option("--dim", cfg.dims, "Size of a symbolic dim, NAME=VALUE (repeatable; default 1)");
  app.add_option("--batch", cfg.batch, "Size of every input's symbolic first dim, whatever its name")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--iters", cfg.iters, "Timed runs")->check(CLI::PositiveNumber);
  app.add_option("--warmup", cfg.warmup, "Untimed runs before timing")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", cfg.options.threads, "Intra-op threads (0 = all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--isa", cfg.options.isa, "Cap the ISA: avx512_vnni|avx512|avx_vnni|avx2|generic");
  app.add_option("--opt-level", cfg.options.optimization_level, "0 = no graph passes");
  app.add_option("--disable-pass", cfg.disabled_passes, "Skip a graph pass by name (repeatable)");
  app.add_option("--disable-kernel", cfg.disabled_kernels,
                 "Never choose this kernel implementation (a name from the 'kernels' line; repeatable)");
  app.add_option("--sparse", cfg.options.sparse_kernels,
                 "Sparse kernels for constant weights: auto (cost model) | always | never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("--quantize", cfg.options.quantize,
                 "none | dynamic-int8: run the pruned float MatMuls on the int8 sparse kernels (per-channel int8 "
                 "weights, per-tensor dynamic activations)");
  app.add_option("--sparsity-threshold", cfg.options.sparsity_threshold,
                 "Run a layer sparse when its weight sparsity is at least this (overrides the cost model)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--time", cfg.bench_config.seconds, "bench: run each stream this many seconds (instead of --iters)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--streams", cfg.bench_config.streams, "bench: concurrent requests (threads calling Run at once)")
      ->check(CLI::PositiveNumber);
  app.add_option("--json", cfg.json_path, "bench: write the result with machine info as JSON to this file");
  app.add_flag("--explain", cfg.explain, "inspect: list every kernel tried before the chosen one and why it declined");
  app.add_flag("--per-node", cfg.per_node,
               "check: also compare every intermediate value both plans compute, and name where they part");
  app.add_option("--input", cfg.input_files,
                 "Feed inputs from NAME=FILE.npy, FILE.npz or a DIR of NAME.npy (repeatable; others random)");
  app.add_option("--output", cfg.output_dir, "Save the outputs of the first run as DIR/NAME.npy");
  app.add_flag("--dump-graph", cfg.dump_graph, "Print the graph after the passes");
  app.add_flag("--check-accuracy", cfg.check_accuracy,
               "Also run the reference plan (no passes, reference kernels) on the same inputs and print each "
               "output's error and cosine similarity");
  app.add_option("--profile", cfg.options.profile_file, "Write per-node times as Chrome trace JSON");
  app.add_flag("--verbose", cfg.options.verbose, "Log passes to stderr");
  bool no_mem_pattern = false;
  app.add_flag("--no-mem-pattern", no_mem_pattern, "Allocate node outputs on the heap instead of a planned per-run arena");
  bool list_ops = false;
  app.add_flag("--list-ops", list_ops, "Print every supported op type and exit");
  app.set_version_flag("--version", std::string("sparse_run ") + SPARSERT_VERSION_STRING);
  app.name("sparse_run");
  // `sparse_run check MODEL ...` is `sparse_run MODEL ... --check-accuracy`.
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "check") {
    args.erase(args.begin());
    args.push_back("--check-accuracy");
  } else if (!args.empty() && args[0] == "bench") {  // `sparse_run bench MODEL ...`
    args.erase(args.begin());
    cfg.bench = true;
  } else if (!args.empty() && args[0] == "inspect") {  // `sparse_run inspect MODEL [--explain]`
    args.erase(args.begin());
    cfg.inspect = true;
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments reversed
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (list_ops) {
    for (const std::string& op : supported_ops()) std::printf("%s\n", op.c_str());
    return 0;
  }
  cfg.options.disabled_passes.insert(cfg.disabled_passes.begin(), cfg.disabled_passes.end());
  cfg.options.disabled_kernels.insert(cfg.disabled_kernels.begin(), cfg.disabled_kernels.end());
  cfg.options.enable_mem_pattern = !no_mem_pattern;
  if (!cfg.options.isa.empty()) {
    auto isa = jit::parse_isa(cfg.options.isa);
    if (!isa.ok()) { std::fprintf(stderr, "sparse_run: %s\n", isa.status().message().c_str()); return 2; }
  }
  auto dims = parse_dims(cfg.dims);
  if (!dims.ok()) { std::fprintf(stderr, "sparse_run: %s\n", dims.status().message().c_str()); return 2; }
  if (cfg.inspect) {
    if (cfg.model.empty()) { std::fprintf(stderr, "sparse_run: inspect needs a MODEL\n"); return 2; }
    Status st = inspect_model(cfg, *dims);
    if (!st.ok()) { std::fprintf(stderr, "sparse_run: %s\n", st.to_string().c_str()); return 1; }
    return 0;
  }
  if (cfg.model.empty()) return run_demo(cfg, argv[0]);
  auto t = run_model(cfg, *dims, true);
  if (!t.ok()) { std::fprintf(stderr, "sparse_run: %s\n", t.status().to_string().c_str()); return 1; }
  return 0;
}
