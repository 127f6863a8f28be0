#pragma once
// The overhead mode of `ssestitch bench`: every scenario against every target, interleaved, in
// one run. Targets: `direct` (the sink reads the generator), `ssestitch` (a child proxy with the
// store on, --sync batch), optionally `ssestitch-nostore` and any --against command. Each
// (round, scenario, target) gets a fresh proxy process and store, so CPU and peak RSS belong to
// that scenario alone. Scenario names are stable: bulk, per-write, paced, fan, fanmax,
// reconnect, resume, idle.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::bench {

struct OverheadOptions {
  std::vector<std::string> scenarios;  // empty: all
  std::uint64_t events = 0;            // 0: per-scenario default
  std::uint64_t size = 256;
  double duration_s = 0;               // paced scenarios; 0: default (3 s)
  std::uint64_t rounds = 1;
  bool no_store_target = false;
  std::vector<std::string> against;    // extra proxy commands ({port} {upstream} {dir})
  std::string self;                    // this executable (for the ssestitch targets)
  std::string work_dir;                // scratch (stores, logs); removed by the caller
  std::function<void(const std::string&)> progress;  // one line per step, or empty
};

struct Measurement {
  std::string scenario;
  std::string target;
  bool ok = true;                 // ran to the end without a failed stream
  std::string error;
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  double seconds = 0;             // first to last event received (0 with fewer than two)
  double events_per_s = 0;
  double mb_per_s = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;  // latency (paced runs)
  double first_event_us = 0;      // paced runs: median over streams, connect to first event
  double cpu_us_per_event = 0;    // proxy CPU (0 for direct)
  double peak_rss_mb = 0;         // proxy VmHWM (0 for direct)
  double time_to_last_ms = 0;     // resume: from the resuming request to the last replayed event
  std::uint64_t streams = 0;      // idle: streams held
  std::uint64_t keepalives = 0;   // idle: keepalive comments received
  double idle_rss_mb = 0;         // idle: proxy RSS with every stream held
};

// Known scenario names, in run order.
const std::vector<std::string>& scenario_names();

// Runs everything; the result holds the median over rounds of each (scenario, target).
util::Result<std::vector<Measurement>> run_overhead(const OverheadOptions& options);

}  // namespace ssestitch::bench
