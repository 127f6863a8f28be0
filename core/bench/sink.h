#pragma once
// Sink: the SSE client side of `ssestitch bench`. Reads a set of streams made by the Generator
// (directly or through a proxy) and checks them: the `k` of each event must follow the previous
// one (lost / duplicated counts), `t` gives the latency (CLOCK_MONOTONIC, the same clock in
// every process), comments are counted (keepalives). It reads as peer-bench's sse-sink does, so
// that both tools measure the same thing: a thread per stream blocked in recv() on a 64 KiB
// buffer (up to 256 threads; past that, as in idle runs, threads poll() several streams). It
// frames the generator's own format (LF line ends, one data line) instead of running the full
// SSE parser, so that the direct baseline measures the generator, not the sink. HTTP/1.1 to
// 127.0.0.1 only.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::bench {

struct StreamSpec {
  std::string url;
  std::uint64_t expect = 0;        // done after this many events (0: read until the end)
  std::uint64_t first_k = 1;       // the k the first event must carry
  std::string last_event_id;       // sent on the first request ("" = none)
  bool reconnect = false;          // on a drop, GET again with Last-Event-ID (as EventSource)
};

struct SinkResult {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t failed_streams = 0;  // ended early without reconnecting, or an HTTP error
  std::uint64_t comments = 0;
  std::int64_t start_ns = 0;         // run() began
  std::int64_t first_event_ns = 0;
  std::int64_t last_event_ns = 0;
  // One sample per event, always taken (the same work per event as sse-sink, which keeps them
  // for every run); overhead summarises them only for its latency scenarios.
  std::vector<std::int64_t> latency_ns;
  // Per stream that got an event: from its first connect() to its first event (as peer-bench's
  // sse-sink counts time to first event: the TCP connect, the request, and through a proxy its
  // upstream request, all included).
  std::vector<std::int64_t> first_event_after_ns;
  std::vector<std::string> last_ids;     // per stream: the last event id seen
  std::string first_error;
};

struct SinkOptions {
  std::int64_t deadline_ms = 60'000;
  // Called once, on one of the sink's threads, when every stream has its response head (held
  // streams).
  std::function<void()> on_all_connected;
  // Held streams (idle): once every stream has its response, on_all_connected runs and the run
  // ends hold_ms later; streams still open then are not failures.
  bool hold = false;
  std::int64_t hold_ms = 3000;
};

// Runs the streams concurrently and returns when all are done or at the deadline.
util::Result<SinkResult> run_sink(const std::vector<StreamSpec>& streams, const SinkOptions& options);

}  // namespace ssestitch::bench
