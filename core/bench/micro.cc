#include "core/bench/micro.h"

#include <chrono>
#include <string>

#include "core/bench/store_micro.h"
#include "core/sse/parser.h"
#include "core/tracker/event_tracker.h"

namespace ssestitch::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// 64 MiB of 256-byte events with ids, fed in 16 KiB pieces, raw blocks dropped as the proxy's
// upstream parser does.
double sse_parse_mb_s() {
  std::string one;
  std::string buf;
  for (int k = 1; buf.size() < (1u << 20); ++k) {
    one = "id: " + std::to_string(k) + "\nevent: message\ndata: {\"k\":" + std::to_string(k) + ",\"p\":\"" + std::string(200, 'x') + "\"}\n\n";
    buf += one;
  }
  sse::Parser parser({}, sse::Raw::drop);
  std::size_t events = 0;
  const auto t0 = Clock::now();
  std::size_t fed = 0;
  for (int round = 0; round < 64; ++round) {
    for (std::size_t at = 0; at < buf.size(); at += 16384) {
      (void)parser.feed(std::string_view(buf).substr(at, 16384), [&](const sse::Event&) { ++events; });
    }
    fed += buf.size();
  }
  return static_cast<double>(fed) / 1e6 / seconds_since(t0);
}

// Opaque ids ("ev-N"), or consecutive decimal ones ("N": the numeric run's shortcut).
double tracker_observe_ns(bool numeric) {
  tracker::EventTracker t;
  t.add_stream(1, "");
  std::vector<std::string> ids;
  constexpr int n = 1'000'000;
  ids.reserve(n);
  for (int i = 1; i <= n; ++i) ids.push_back((numeric ? "" : "ev-") + std::to_string(i));
  const auto t0 = Clock::now();
  for (const std::string& id : ids) (void)t.observe(1, id);
  return seconds_since(t0) * 1e9 / n;
}

}  // namespace

util::Result<std::vector<MicroResult>> run_micro(const std::string& work_dir) {
  std::vector<MicroResult> out;
  out.push_back({"sse_parse", sse_parse_mb_s(), "MB/s"});
  out.push_back({"tracker_observe", tracker_observe_ns(false), "ns/op"});
  out.push_back({"tracker_observe_numeric", tracker_observe_ns(true), "ns/op"});
  for (store::SyncMode mode : {store::SyncMode::none, store::SyncMode::batch, store::SyncMode::always}) {
    const std::string name(store::to_string(mode));
    auto rate = append_rate(work_dir + "/append-" + name, mode, 100'000, 256, 100);
    if (!rate) return std::move(rate).error();
    out.push_back({"store_append_" + name, *rate, "events/s"});
  }
  // One event per transaction, as the proxy commits at low rates (the latency path).
  auto single = append_rate(work_dir + "/append-single", store::SyncMode::batch, 50'000, 256, 1);
  if (!single) return std::move(single).error();
  out.push_back({"store_commit_single", 1e6 / *single, "us/commit"});
  auto replay = replay_time(work_dir + "/replay", 100'000, 90'000);
  if (!replay) return std::move(replay).error();
  out.push_back({"store_replay_10k", *replay / 1000.0, "ms"});
  return out;
}

}  // namespace ssestitch::bench
