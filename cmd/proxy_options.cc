#include "cmd/proxy_options.h"

#include "core/util/units.h"

namespace ssestitch::cmd {
namespace {

using O = ProxyOption;

// Each row's accessor is a captureless lambda: the field it names is the only per-option code.
const std::vector<ProxyOption> k_rows = {
    {"--upstream", "Upstream URL; its path is the MCP endpoint (required)",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.upstream; }}},
    {"--listen", "Address to listen on for clients (HOST:PORT)",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.listen; }}},
    {"--store", "Store directory (created 0700), or redis://HOST:PORT[/DB] or unix:///PATH for a store in Redis "
     "(HOST:PORT may be any node of a Redis Cluster, or several: HOST:PORT,HOST:PORT,...)",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.store; }}},
    {"--no-store", "Keep the event log in memory only", O::Flag{[](ProxyOptions& o) -> bool& { return o.no_store; }}},
    {"--admin", "Admin listener for /healthz and /metrics (HOST:PORT); off when empty",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.admin; }}},
    {"--sync", "When the store fsyncs: always, batch or none",
     O::Choice{[](ProxyOptions& o) -> std::string& { return o.sync; }, {"always", "batch", "none"}}},
    {"--sync-interval", "Pause from the end of one fsync to the next with --sync batch",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.sync_interval_ms; }}},
    {"--redis-replicas", "With a store in Redis: forward an event only once this many replicas have it (WAIT)",
     O::Count{[](ProxyOptions& o) -> std::uint64_t& { return o.config.redis_replicas; }, 16}},
    {"--linger", "Keep reading an upstream stream this long after its client left",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.linger_ms; }}},
    {"--keepalive", "Send a keepalive comment on idle client streams this often",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.keepalive_ms; }}},
    {"--upstream-idle-timeout", "Treat a silent upstream stream as dropped after this long",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.upstream_idle_timeout_ms; }}},
    {"--connect-timeout", "Upstream connect timeout",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.connect_timeout_ms; }}},
    {"--reconnect-base", "Base of the exponential reconnect backoff",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.reconnect_base_ms; }}},
    {"--reconnect-cap", "Cap of the reconnect backoff",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.reconnect_cap_ms; }}},
    {"--reconnect-budget", "Give up reconnecting a stream after this long",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.reconnect_budget_ms; }}},
    {"--client-buffer", "Unsent bytes per client before it catches up from the store instead of live writes",
     O::Size{[](ProxyOptions& o) -> std::uint64_t& { return o.config.client_buffer; }}},
    {"--max-connections", "Open client connections at most (503 beyond)",
     O::Count{[](ProxyOptions& o) -> std::uint64_t& { return o.config.max_connections; }}},
    {"--max-header-size", "Largest request header block accepted",
     O::Size{[](ProxyOptions& o) -> std::uint64_t& { return o.config.max_header_size; }}},
    {"--max-body-size", "Largest request body accepted (413 beyond)",
     O::Size{[](ProxyOptions& o) -> std::uint64_t& { return o.config.max_body_size; }}},
    {"--max-event-size", "Largest upstream SSE event or line",
     O::Size{[](ProxyOptions& o) -> std::uint64_t& { return o.max_event_size; }}},
    {"--dedup-window", "Upstream event ids remembered per stream for dedup",
     O::Count{[](ProxyOptions& o) -> std::uint64_t& { return o.config.dedup_window; }, 10'000'000}},
    {"--retain-events", "Events kept per stream (0: no limit)",
     O::Count{[](ProxyOptions& o) -> std::uint64_t& { return o.config.retention.max_events_per_stream; }}},
    {"--retain-bytes", "Event bytes kept per stream (0: no limit)",
     O::Size{[](ProxyOptions& o) -> std::uint64_t& { return o.config.retention.max_bytes_per_stream; }}},
    {"--retain-age", "Events older than this are removed (0: no limit)",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.retention.max_age_ms; }}},
    {"--store-max", "Largest size of the store",
     O::Size{[](ProxyOptions& o) -> std::uint64_t& { return o.config.retention.store_max_bytes; }}},
    {"--on-gap", "Resume from an evicted id: error (410) or oldest",
     O::Choice{[](ProxyOptions& o) -> std::string& { return o.on_gap; }, {"error", "oldest"}}},
    {"--no-reinit", "Pass the server's \"unknown session\" on instead of re-initialising the session",
     O::Flag{[](ProxyOptions& o) -> bool& { return o.no_reinit; }}},
    {"--no-retry", "Never send a request again after its answer stream broke (the client gets a JSON-RPC error)",
     O::Flag{[](ProxyOptions& o) -> bool& { return o.no_retry; }}},
    {"--retry-tools", "Tool safe to call again when its answer is lost, beyond those annotated read-only or idempotent (repeatable)",
     O::List{[](ProxyOptions& o) -> std::vector<std::string>& { return o.config.retry_tools; }}},
    {"--retry-connect", "How long a request without an answer is retried: refused connections, retry-safe requests (0: not at all)",
     O::Duration{[](ProxyOptions& o) -> std::int64_t& { return o.config.retry_connect_ms; }}},
    {"--get-stream", "Open a session's standalone GET stream upstream: early (at initialized) or client (when asked)",
     O::Choice{[](ProxyOptions& o) -> std::string& { return o.get_stream; }, {"early", "client"}}},
    {"--record", "Keep every message of a session in the store (inspect STORE messages): full, metadata (no bodies) or off",
     O::Choice{[](ProxyOptions& o) -> std::string& { return o.config.record; }, {"full", "metadata", "off"}}},
    {"--tap", "Write every message, both directions, as NDJSON to this file or - (standard output) as it passes",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.config.tap; }}},
    {"--allow-origin", "Browser Origin allowed to connect, beyond loopback ones (repeatable)",
     O::List{[](ProxyOptions& o) -> std::vector<std::string>& { return o.config.allow_origins; }}},
    {"--allow-host", "Host name allowed when listening on loopback, beyond loopback ones (repeatable)",
     O::List{[](ProxyOptions& o) -> std::vector<std::string>& { return o.config.allow_hosts; }}},
    {"--require-token", "Clients must send 'Authorization: Bearer TOKEN'",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.config.require_token; }}, true},
    {"--cacert", "CA bundle for an https upstream",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.config.tls.cacert; }}},
    {"--capath", "CA directory for an https upstream",
     O::Text{[](ProxyOptions& o) -> std::string& { return o.config.tls.capath; }}},
    {"--insecure", "Do not verify the upstream's TLS certificate",
     O::Flag{[](ProxyOptions& o) -> bool& { return o.config.tls.insecure; }}},
    {"--upstream-client", "Client for an http:// upstream with a numeric address: own (ssestitch's HTTP/1.1 client) or curl (libcurl, as for https and host names)",
     O::Choice{[](ProxyOptions& o) -> std::string& { return o.upstream_client; }, {"own", "curl"}}},
};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::span<const ProxyOption> proxy_options() { return k_rows; }

std::string format_proxy_config(const ProxyOptions& options) {
  ProxyOptions o = options;  // the accessors take a mutable reference; nothing is changed
  std::string out;
  for (const ProxyOption& row : k_rows) {
    std::string value;
    std::visit(
        [&](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, O::Text> || std::is_same_v<V, O::Choice>) {
            const std::string& s = v.at(o);
            value = row.secret && !s.empty() ? quoted("(redacted)") : quoted(s);
          } else if constexpr (std::is_same_v<V, O::Flag>) {
            value = v.at(o) ? "true" : "false";
          } else if constexpr (std::is_same_v<V, O::Duration>) {
            value = quoted(util::format_duration_ms(v.at(o)));
          } else if constexpr (std::is_same_v<V, O::Size>) {
            value = quoted(util::format_size(v.at(o)));
          } else if constexpr (std::is_same_v<V, O::Count>) {
            value = std::to_string(v.at(o));
          } else {
            for (const std::string& s : v.at(o)) value += (value.empty() ? "" : ", ") + quoted(s);
            value = "[" + value + "]";
          }
        },
        row.value);
    out += std::string(row.flag + 2) + " = " + value + "\n";
  }
  return out;
}

}  // namespace ssestitch::cmd
