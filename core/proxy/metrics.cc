#include "core/proxy/metrics.h"

#include <cstdio>

namespace ssestitch::proxy {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, std::uint64_t v) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

void counter(std::string& out, const char* name, const char* help, std::uint64_t v) {
  family(out, name, "counter", help);
  sample(out, name, "", v);
}

void gauge(std::string& out, const char* name, const char* help, std::uint64_t v) {
  family(out, name, "gauge", help);
  sample(out, name, "", v);
}

}  // namespace

std::string render_prometheus(const Metrics& m, const Gauges& g, const store::StoreMetrics& s) {
  std::string out;
  out.reserve(8192);
  gauge(out, "ssestitch_sessions_open", "MCP sessions currently open.", g.sessions_open);
  family(out, "ssestitch_streams_open", "gauge", "Tracked SSE streams currently open, by kind.");
  sample(out, "ssestitch_streams_open", "kind=\"post\"", g.streams_post);
  sample(out, "ssestitch_streams_open", "kind=\"get\"", g.streams_get);
  sample(out, "ssestitch_streams_open", "kind=\"generic\"", g.streams_generic);
  gauge(out, "ssestitch_clients_attached", "Client responses attached to tracked streams.", g.clients_attached);
  gauge(out, "ssestitch_streams_lingering",
        "Open tracked streams without a client (read and logged for --linger at most).", g.streams_lingering);
  gauge(out, "ssestitch_client_connections", "Open client connections.", g.connections);
  gauge(out, "ssestitch_upstream_transfers", "Upstream requests in flight.", g.upstream_transfers);
  counter(out, "ssestitch_requests_total", "Client requests accepted.", m.requests);
  family(out, "ssestitch_requests_rejected_total", "counter", "Client requests refused, by reason.");
  sample(out, "ssestitch_requests_rejected_total", "reason=\"origin\"", m.rejected_origin);
  sample(out, "ssestitch_requests_rejected_total", "reason=\"host\"", m.rejected_host);
  sample(out, "ssestitch_requests_rejected_total", "reason=\"auth\"", m.rejected_auth);
  sample(out, "ssestitch_requests_rejected_total", "reason=\"unknown_session\"", m.unknown_session);
  counter(out, "ssestitch_events_received_total", "Fresh events received from upstreams.", m.events_received);
  counter(out, "ssestitch_events_deduplicated_total", "Upstream events dropped as duplicates.", m.events_deduplicated);
  counter(out, "ssestitch_events_forwarded_total", "Events written live to clients.", m.events_forwarded);
  counter(out, "ssestitch_events_replayed_total", "Events replayed from the log to resuming clients.", m.events_replayed);
  counter(out, "ssestitch_priming_events_total", "Upstream priming (id-only) events, not forwarded.", m.priming_events);
  family(out, "ssestitch_upstream_reconnects_total", "counter", "Upstream stream reconnects, by outcome.");
  sample(out, "ssestitch_upstream_reconnects_total", "outcome=\"resumed\"", m.reconnects_resumed);
  sample(out, "ssestitch_upstream_reconnects_total", "outcome=\"reopened\"", m.reconnects_reopened);
  sample(out, "ssestitch_upstream_reconnects_total", "outcome=\"failed\"", m.reconnects_failed);
  sample(out, "ssestitch_upstream_reconnects_total", "outcome=\"gave_up\"", m.reconnects_gave_up);
  counter(out, "ssestitch_streams_not_resumable_total", "POST streams lost upstream without a way to resume.", m.not_resumable);
  counter(out, "ssestitch_pending_errors_sent_total", "JSON-RPC errors sent for requests lost upstream.", m.pending_errors_sent);
  counter(out, "ssestitch_gaps_total", "Upstream event-id jumps seen after a reconnect.", m.gaps);
  counter(out, "ssestitch_gap_events_total", "Events missing in upstream id jumps.", m.gap_events);
  counter(out, "ssestitch_resumes_served_total", "Client resumes (Last-Event-ID) answered.", m.resumes_served);
  family(out, "ssestitch_resumes_refused_total", "counter", "Client resumes refused, by reason.");
  sample(out, "ssestitch_resumes_refused_total", "reason=\"malformed\"", m.resumes_refused_malformed);
  sample(out, "ssestitch_resumes_refused_total", "reason=\"unknown\"", m.resumes_refused_unknown);
  sample(out, "ssestitch_resumes_refused_total", "reason=\"evicted\"", m.resumes_refused_evicted);
  counter(out, "ssestitch_resumes_followed_total", "Resumes of a stream another proxy sharing the store reads, followed from the store.", m.resumes_followed);
  counter(out, "ssestitch_clients_fell_behind_total", "Times a client fell --client-buffer behind and caught up from the store.", m.clients_fell_behind);
  counter(out, "ssestitch_keepalives_sent_total", "Keepalive comments sent to idle clients.", m.keepalives_sent);
  counter(out, "ssestitch_streams_lingered_out_total", "Upstream streams closed after --linger without a client.", m.streams_lingered_out);
  family(out, "ssestitch_session_reinits_total", "counter",
         "Sessions re-initialised on a restarted upstream, by outcome.");
  sample(out, "ssestitch_session_reinits_total", "outcome=\"ok\"", m.reinits);
  sample(out, "ssestitch_session_reinits_total", "outcome=\"failed\"", m.reinits_failed);
  counter(out, "ssestitch_requests_resent_total", "Requests re-sent after their session was re-initialised.",
          m.requests_resent);
  family(out, "ssestitch_requests_retried_total", "counter",
         "Requests sent again: the upstream refused the connection, or a retry-safe request got no answer.");
  sample(out, "ssestitch_requests_retried_total", "reason=\"refused\"", m.retries_refused);
  sample(out, "ssestitch_requests_retried_total", "reason=\"no_answer\"", m.retries_no_answer);
  family(out, "ssestitch_requests_reissued_total", "counter",
         "Requests sent again after their answer stream broke and could not be resumed (retry-safe requests, "
         "subscriptions/listen), by outcome of the attempt: sent, or gave_up when the budget ran out.");
  sample(out, "ssestitch_requests_reissued_total", "outcome=\"sent\"", m.reissues);
  sample(out, "ssestitch_requests_reissued_total", "outcome=\"gave_up\"", m.reissues_gave_up);
  counter(out, "ssestitch_answers_lost_total",
          "Answers lost with a broken stream whose request was not safe to repeat (the client got a JSON-RPC error).",
          m.answers_lost);
  counter(out, "ssestitch_progress_suppressed_total",
          "Progress notifications of a re-issued request not delivered again.", m.progress_suppressed);
  family(out, "ssestitch_mcp_client_messages_total", "counter",
         "MCP messages from clients to the MCP endpoint, by JSON-RPC kind (request, notification, response, error, batch, other, none).");
  for (const auto& [kind, n] : m.client_messages) sample(out, "ssestitch_mcp_client_messages_total", "kind=\"" + kind + "\"", n);
  family(out, "ssestitch_mcp_answers_total", "counter", "Answers on the MCP endpoint, by HTTP status class.");
  for (int c = 1; c <= 5; ++c) {
    sample(out, "ssestitch_mcp_answers_total", "class=\"" + std::to_string(c) + "xx\"", m.answers_by_class[c]);
  }
  counter(out, "ssestitch_mcp_proxy_messages_total",
          "MCP messages the proxy wrote itself (its refusals, JSON-RPC errors for lost answers).", m.messages_from_proxy);
  counter(out, "ssestitch_tap_dropped_total", "Tap lines dropped because its reader was slower than the traffic (--tap).",
          m.tap_dropped);
  counter(out, "ssestitch_get_streams_opened_early_total",
          "Session GET streams the proxy opened at notifications/initialized (--get-stream early).",
          m.get_streams_opened_early);
  counter(out, "ssestitch_store_errors_total", "Store commits that failed (events forwarded unlogged).", m.store_errors);
  family(out, "ssestitch_errors_total", "counter", "Errors, by kind.");
  for (const auto& [kind, n] : m.errors) sample(out, "ssestitch_errors_total", "kind=\"" + kind + "\"", n);

  gauge(out, "ssestitch_store_bytes", "Bytes the store uses.", g.store_bytes);
  gauge(out, "ssestitch_store_degraded", "1 when the last store commit failed.", g.store_degraded ? 1 : 0);
  counter(out, "ssestitch_store_events_written_total", "Events committed to the store.", s.events_written);
  counter(out, "ssestitch_store_evictions_total", "Events removed by retention.", s.events_evicted);
  counter(out, "ssestitch_store_queue_full_total", "Batches refused because the writer queue was full.", s.queue_full);
  counter(out, "ssestitch_store_syncs_total", "Store fsyncs outside a commit (--sync batch: at most one per --sync-interval).", s.syncs);
  family(out, "ssestitch_store_commit_seconds", "histogram", "Store commit latency (transaction and any fsync).");
  std::uint64_t cumulative = 0;
  for (int i = 0; i < store::StoreMetrics::k_latency_buckets; ++i) {
    cumulative += s.commit_latency_buckets[i];
    char le[32];
    if (i + 1 < store::StoreMetrics::k_latency_buckets) {
      std::snprintf(le, sizeof le, "%g", store::StoreMetrics::k_bucket_bounds_s[i]);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    sample(out, "ssestitch_store_commit_seconds_bucket", std::string("le=\"") + le + "\"", cumulative);
  }
  char sum[64];
  std::snprintf(sum, sizeof sum, "ssestitch_store_commit_seconds_sum %.9f\n", s.commit_latency_sum_s);
  out += sum;
  sample(out, "ssestitch_store_commit_seconds_count", "", s.commits);
  return out;
}

}  // namespace ssestitch::proxy
