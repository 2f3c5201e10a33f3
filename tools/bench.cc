#include "tools/bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "jit/isa.h"

namespace sparsert::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

}  // namespace

void ProgressBar::update(double done) {
  constexpr int kWidth = 30;
  const int percent = static_cast<int>(std::min(std::max(done, 0.0), 1.0) * 100.0);
  if (percent == shown_) return;
  shown_ = percent;
  const int filled = percent * kWidth / 100;
  std::fprintf(out_, "\r[%s%s] %3d%%", std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(), percent);
  std::fflush(out_);
}

void ProgressBar::finish() {
  if (shown_ < 0) return;
  std::fprintf(out_, "\r%40s\r", "");
  std::fflush(out_);
  shown_ = -1;
}

double Result::percentile(double p) const {
  if (latency_ms.empty()) return 0;
  const size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(latency_ms.size() - 1) + 0.5);
  return latency_ms[std::min(i, latency_ms.size() - 1)];
}

StatusOr<Result> run(const Session& session, const std::vector<NamedTensor>& inputs, const Config& config) {
  for (int i = 0; i < config.warmup; ++i) SPARSERT_RETURN_IF_ERROR(session.Run(inputs).status());
  const int streams = std::max(config.streams, 1);
  std::mutex mu;
  Status error = Status::OK();
  std::vector<double> all;
  const auto start = Clock::now();
  auto stream = [&](bool report) {
    std::vector<double> mine;
    const auto t_end = start + std::chrono::duration<double>(config.seconds);
    for (int i = 0;; ++i) {
      if (config.seconds > 0 ? Clock::now() >= t_end && i > 0 : i >= std::max(config.iters, 1)) break;
      const auto t0 = Clock::now();
      Status st = session.Run(inputs).status();
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (error.ok()) error = st;
        return;
      }
      mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      if (report && config.progress)
        config.progress(config.seconds > 0
                            ? std::chrono::duration<double>(Clock::now() - start).count() / config.seconds
                            : static_cast<double>(i + 1) / std::max(config.iters, 1));
    }
    std::lock_guard<std::mutex> lock(mu);
    all.insert(all.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  for (int s = 1; s < streams; ++s) threads.emplace_back(stream, false);
  stream(true);
  for (std::thread& t : threads) t.join();
  SPARSERT_RETURN_IF_ERROR(error);
  Result r;
  r.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  r.streams = streams;
  std::sort(all.begin(), all.end());
  r.latency_ms = std::move(all);
  return r;
}

std::string to_json(const Result& r, const std::string& model, const std::string& dims, const Session& session) {
  double mean = 0;
  for (double v : r.latency_ms) mean += v;
  if (!r.latency_ms.empty()) mean /= static_cast<double>(r.latency_ms.size());
  char buf[2048];
  std::snprintf(buf, sizeof buf,
                "{\n  \"model\": \"%s\",\n  \"dims\": \"%s\",\n  \"sparsert_version\": \"%s\",\n"
                "  \"cpu\": \"%s\",\n  \"detected_isa\": \"%s\",\n  \"isa\": \"%s\",\n  \"threads\": %d,\n"
                "  \"streams\": %d,\n  \"runs\": %zu,\n  \"wall_s\": %.6f,\n  \"throughput_per_s\": %.3f,\n"
                "  \"latency_ms\": {\"min\": %.6f, \"mean\": %.6f, \"median\": %.6f, \"p90\": %.6f, \"p99\": %.6f, "
                "\"max\": %.6f}\n}\n",
                escape(model).c_str(), escape(dims).c_str(), SPARSERT_VERSION_STRING, escape(jit::cpu_brand()).c_str(),
                jit::isa_name(jit::detected_isa()).c_str(), session.isa().c_str(), session.threads(), r.streams,
                r.latency_ms.size(), r.wall_s, r.throughput(), r.percentile(0), mean, r.percentile(50),
                r.percentile(90), r.percentile(99), r.percentile(100));
  return buf;
}

}  // namespace sparsert::bench
