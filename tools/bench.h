// sparse_run bench: timed runs of one session, optionally from several
// threads at once (--streams: concurrent requests, the throughput scenario),
// for a count (--iters) or a duration (--time); latency percentiles,
// throughput, and a JSON record (--json) with the machine it ran on.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "include/sparsert/sparsert.h"

namespace sparsert::bench {

struct Config {
  int warmup = 2;
  int iters = 10;        // per stream, when seconds <= 0
  double seconds = 0;    // > 0: run each stream this long instead
  int streams = 1;
  // Called on the calling thread after each of its timed runs with the share
  // done (runs or time), in [0, 1]; sparse_run draws a progress bar with it.
  std::function<void(double done)> progress;
};

// A one-line progress bar on `out` ("\r[#####     ]  50%"), redrawn only when
// the shown percentage changes; finish() clears the line.
class ProgressBar {
 public:
  explicit ProgressBar(FILE* out) : out_(out) {}
  void update(double done);
  void finish();

 private:
  FILE* out_;
  int shown_ = -1;
};

struct Result {
  std::vector<double> latency_ms;  // every timed run, sorted
  double wall_s = 0;               // first timed run start to last end, all streams
  int streams = 1;
  double percentile(double p) const;  // p in [0, 100]
  double throughput() const { return wall_s > 0 ? static_cast<double>(latency_ms.size()) / wall_s : 0; }
};

StatusOr<Result> run(const Session& session, const std::vector<NamedTensor>& inputs, const Config& config);

// The JSON record: model, dims, machine (CPU, detected ISA, ISA used,
// threads), sparsert version, streams, runs, latency percentiles, throughput.
std::string to_json(const Result& r, const std::string& model, const std::string& dims, const Session& session);

}  // namespace sparsert::bench
