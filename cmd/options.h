#pragma once
// Plain option structs filled by cmd/cli.cc (the only file that includes CLI11) and handed to
// the subcommands. Defaults here are the documented defaults (ssestitch-*(1)).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ssestitch::cmd {

struct GlobalOptions {
  std::string log_level = "info";   // debug|info|warn|error|off
  std::string log_format = "text";  // text|json
};

struct ProxyOptions {
  std::string upstream;                        // required: http(s)://host:port/path
  std::string listen = "127.0.0.1:8080";
  std::string store = "./ssestitch-store";
  bool no_store = false;
  std::string admin;                           // "" = no admin listener
  std::string sync = "batch";                  // always|batch|none
  std::int64_t sync_interval_ms = 100;
  std::int64_t linger_ms = 5 * 60'000;
  std::int64_t keepalive_ms = 15'000;
  std::int64_t upstream_idle_timeout_ms = 90'000;
  std::int64_t connect_timeout_ms = 10'000;
  std::int64_t reconnect_base_ms = 200;
  std::int64_t reconnect_cap_ms = 30'000;
  std::int64_t reconnect_budget_ms = 5 * 60'000;
  std::uint64_t client_buffer = 1u << 20;
  std::uint64_t max_connections = 1024;
  std::uint64_t max_header_size = 16u << 10;
  std::uint64_t max_body_size = 16u << 20;
  std::uint64_t max_event_size = 16u << 20;
  std::uint64_t dedup_window = 1000;
  std::uint64_t retain_events = 100'000;
  std::uint64_t retain_bytes = 64u << 20;
  std::int64_t retain_age_ms = 24LL * 3600'000;
  std::uint64_t store_max = 1ULL << 30;
  std::string on_gap = "error";                // error|oldest
  std::vector<std::string> allow_origins;
  std::string require_token;                   // secret: redacted by --print-config
  std::string cacert;
  std::string capath;
  bool insecure = false;
  bool print_config = false;
};

struct InspectOptions {
  std::string store;
  std::string view = "summary";                // summary|sessions|streams|events
  std::string session;
  std::optional<std::uint64_t> stream;
  std::uint64_t after = 0;
  std::uint64_t limit = 0;                     // 0 = no limit
  bool json = false;
  bool ndjson = false;
};

struct ReplayOptions {
  std::string store;
  std::optional<std::uint64_t> stream;
  std::uint64_t after = 0;
  std::string after_id;                        // "<stream>-<seq>"
  std::string format = "sse";                  // sse|ndjson
  std::uint64_t limit = 0;                     // 0 = no limit
  bool follow = false;
  std::int64_t poll_ms = 100;                  // --follow polling interval
  std::string serve;                           // "" = print to stdout
  double rate = 0;                             // events/s when serving; 0 = as fast as possible
  std::uint64_t drop_every = 0;                // serving: cut the connection every N events
};

struct BenchOptions {
  // Overhead mode
  std::vector<std::string> scenarios;          // empty = all
  std::uint64_t events = 0;                    // 0 = per-scenario default
  std::uint64_t size = 256;
  double duration_s = 0;                       // 0 = per-scenario default
  std::uint64_t rounds = 1;
  std::vector<std::string> against;
  bool no_store_target = false;
  bool micro = false;
  std::string report;                          // HTML report path
  std::string proxy_binary;                    // default: this executable
  // Smoke-test mode
  std::string upstream;
  bool through_proxy = false;
  std::vector<std::string> calls;              // --call TOOL (paired with args)
  std::vector<std::string> call_args;          // --args JSON
  std::uint64_t sessions = 4;
  std::uint64_t requests = 50;
  std::vector<std::string> headers;            // secret values: never printed back
  std::string junit;
  std::int64_t timeout_ms = 10'000;
  // Both
  bool json = false;
};

enum class Subcommand { none, proxy, inspect, replay, bench };

struct Options {
  GlobalOptions global;
  Subcommand subcommand = Subcommand::none;
  ProxyOptions proxy;
  InspectOptions inspect;
  ReplayOptions replay;
  BenchOptions bench;
};

}  // namespace ssestitch::cmd
