// sparse_run bench: timed runs of one session, optionally from several
// threads at once (--streams: concurrent requests, the throughput scenario),
// for a count (--iters) or a duration (--time); latency percentiles,
// throughput, and a JSON record (--json) with the machine it ran on.
#pragma once

#include <string>
#include <vector>

#include "include/sparsert/sparsert.h"

namespace sparsert::bench {

struct Config {
  int warmup = 2;
  int iters = 10;        // per stream, when seconds <= 0
  double seconds = 0;    // > 0: run each stream this long instead
  int streams = 1;
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
