#pragma once
// Counters of the proxy, rendered at /metrics in the Prometheus text format (version 0.0.4).
// Plain integers: every counter is touched on the loop thread only; store figures come from
// SessionStore::metrics() (atomics of the writer thread) at render time.
// Names are stable (dashboards depend on them); never put credentials or ids in labels.

#include <cstdint>
#include <map>
#include <string>

#include "core/store/session_store.h"

namespace ssestitch::proxy {

struct Metrics {
  std::uint64_t requests = 0;                 // client requests accepted
  std::uint64_t rejected_origin = 0;          // 403: Origin not allowed
  std::uint64_t rejected_host = 0;            // 403: Host not allowed (DNS rebinding)
  std::uint64_t rejected_auth = 0;            // 401: --require-token
  std::uint64_t unknown_session = 0;          // 404: Mcp-Session-Id not known
  std::uint64_t events_received = 0;          // fresh upstream events (after dedup)
  std::uint64_t events_deduplicated = 0;      // upstream events dropped as duplicates
  std::uint64_t events_forwarded = 0;         // events written live to clients
  std::uint64_t events_replayed = 0;          // events written to resuming clients from the log
  std::uint64_t priming_events = 0;           // upstream id-only / empty-data events (not forwarded)
  std::uint64_t reconnects_resumed = 0;       // upstream re-opened with Last-Event-ID, answered with SSE
  std::uint64_t reconnects_reopened = 0;      // re-opened without Last-Event-ID (no ids to resume from)
  std::uint64_t reconnects_failed = 0;        // reconnect attempts that failed
  std::uint64_t reconnects_gave_up = 0;       // streams whose reconnect budget ran out
  std::uint64_t not_resumable = 0;            // POST streams lost without a way to resume
  std::uint64_t pending_errors_sent = 0;      // JSON-RPC errors sent for requests lost upstream
  std::uint64_t gaps = 0;                     // upstream id jumps seen after a reconnect
  std::uint64_t gap_events = 0;               // events missing in those jumps
  std::uint64_t resumes_served = 0;           // client GETs with Last-Event-ID answered
  std::uint64_t resumes_refused_malformed = 0;
  std::uint64_t resumes_refused_unknown = 0;  // unknown stream, or another session's / principal's
  std::uint64_t resumes_refused_evicted = 0;  // the id was removed by retention
  std::uint64_t resumes_followed = 0;         // served from the store: another live proxy reads it
  std::uint64_t clients_fell_behind = 0;
  std::uint64_t keepalives_sent = 0;
  std::uint64_t streams_lingered_out = 0;     // upstream closed after --linger without a client
  std::uint64_t get_streams_opened_early = 0; // session GET streams the proxy opened at initialized
  std::uint64_t reinits = 0;                  // sessions carried over to a restarted upstream
  std::uint64_t reinits_failed = 0;           // re-initialisations that failed (the client got the 404)
  std::uint64_t requests_resent = 0;          // requests re-sent after their session's re-initialisation
  std::uint64_t retries_refused = 0;          // requests sent again after a refused connection
  std::uint64_t retries_no_answer = 0;        // retry-safe requests sent again after no answer
  std::uint64_t reissues = 0;                 // requests sent again after their answer stream broke
  std::uint64_t reissues_gave_up = 0;         // ... until the budget ran out (the client got an error)
  std::uint64_t answers_lost = 0;             // answers lost with a request not safe to repeat (error sent)
  std::uint64_t progress_suppressed = 0;      // progress notifications of a re-issue already delivered
  std::map<std::string, std::uint64_t> client_messages;  // MCP client messages by kind (message_metrics.h)
  std::uint64_t answers_by_class[6] = {};     // MCP answers by HTTP status class (index status / 100)
  std::uint64_t messages_from_proxy = 0;      // MCP messages the proxy wrote itself
  std::uint64_t tap_dropped = 0;              // tap lines dropped: its reader was too slow
  std::uint64_t store_errors = 0;             // commits that failed (events forwarded unlogged)
  std::map<std::string, std::uint64_t> errors;  // by Errc name

  // Upstream reachability for /healthz: the latest connection outcome wins.
  std::int64_t upstream_ok_ms = 0;
  std::int64_t upstream_error_ms = 0;
  std::string upstream_error;
  void note_upstream_ok(std::int64_t now_ms) { upstream_ok_ms = now_ms; }
  void note_upstream_error(std::int64_t now_ms, std::string message) {
    upstream_error_ms = now_ms;
    upstream_error = std::move(message);
  }
  bool upstream_down() const noexcept { return upstream_error_ms > upstream_ok_ms; }
};

struct Gauges {
  std::uint64_t sessions_open = 0;
  std::uint64_t streams_post = 0, streams_get = 0, streams_generic = 0;
  std::uint64_t clients_attached = 0;
  std::uint64_t streams_lingering = 0;        // open tracked streams without a client
  std::uint64_t connections = 0;
  std::uint64_t upstream_transfers = 0;
  std::uint64_t store_bytes = 0;
  bool store_degraded = false;
};

std::string render_prometheus(const Metrics& m, const Gauges& g, const store::StoreMetrics& s);

}  // namespace ssestitch::proxy
