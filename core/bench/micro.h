#pragma once
// Micro-benchmarks of the core for `ssestitch bench --micro`: SSE parse throughput, EventTracker
// observe cost, store append rate per sync mode and a 10,000-event replay (core/bench/store_micro).
// Measurements only, never pass/fail.

#include <string>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::bench {

struct MicroResult {
  std::string name;   // stable: sse_parse, tracker_observe[_numeric], store_append_none|batch|always,
                      // store_commit_single, store_replay_10k
  double value = 0;
  std::string unit;   // "MB/s", "ns/op", "events/s", "ms"
};

// `work_dir` must exist; stores are created (and left) under it.
util::Result<std::vector<MicroResult>> run_micro(const std::string& work_dir);

}  // namespace ssestitch::bench
