#pragma once
// proxy::Config: everything `ssestitch proxy` runs with, already validated and in its final
// types. Built by cmd/proxy.cc from the command line; the defaults are the documented ones.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/net/address.h"
#include "core/net/upstream_client.h"
#include "core/sse/parser.h"
#include "core/store/session_store.h"

namespace ssestitch::proxy {

struct Config {
  net::HttpUrl upstream;                 // upstream.path is the MCP endpoint
  net::ListenAddress listen;
  std::optional<net::ListenAddress> admin;
  std::string store_dir;                 // "" = memory only (--no-store)
  store::SyncMode sync = store::SyncMode::batch;
  std::int64_t sync_interval_ms = 100;
  std::uint64_t redis_replicas = 0;      // --redis-replicas: WAIT for this many (Redis stores)
  store::Retention retention;
  std::int64_t linger_ms = 5 * 60'000;
  std::int64_t keepalive_ms = 15'000;
  std::int64_t upstream_idle_timeout_ms = 90'000;
  std::int64_t connect_timeout_ms = 10'000;
  std::int64_t reconnect_base_ms = 200;
  std::int64_t reconnect_cap_ms = 30'000;
  std::int64_t reconnect_budget_ms = 5 * 60'000;
  std::size_t client_buffer = 1u << 20;
  std::size_t max_connections = 1024;
  std::size_t max_header_size = 16u << 10;
  std::size_t max_body_size = 16u << 20;
  sse::Limits sse_limits;
  std::size_t dedup_window = 1000;
  bool on_gap_oldest = false;
  bool reinit = true;                    // --no-reinit: no re-initialisation (proxy/reinit.h)
  bool reissue = true;                   // --no-retry: never re-issue a request (proxy/retry_policy.h)
  std::vector<std::string> retry_tools;  // --retry-tools: tools safe to call again, beyond annotations
  std::int64_t retry_connect_ms = 3000;  // how long a request without an answer is retried (Exchange)
  bool early_get = true;                 // --get-stream early: open the session's GET stream at
                                         // notifications/initialized (proxy/standalone_get.h)
  std::string record = "full";           // --record full|metadata|off (proxy/recorder.h)
  std::string tap;                       // --tap PATH|-: NDJSON of every message (proxy/tap.h); "" = off
  std::vector<std::string> allow_origins;  // beyond the loopback and own ones (proxy/access.h)
  std::vector<std::string> allow_hosts;    // Host names beyond loopback ones, when listening on loopback
  std::string require_token;             // secret
  net::TlsOptions tls;
  net::HttpEngine http_engine = net::HttpEngine::own;  // --upstream-client
};

}  // namespace ssestitch::proxy
