#pragma once
// Plain option structs filled by cmd/cli.cc (the only file that includes CLI11) and handed to
// the subcommands. Defaults here (and in proxy::Config for the proxy) are the documented
// defaults (ssestitch-*(1)).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/proxy/config.h"

namespace ssestitch::cmd {

struct GlobalOptions {
  std::string log_level = "info";   // debug|info|warn|error|off
  std::string log_format = "text";  // text|json
};

// `ssestitch proxy`: the typed settings live in proxy::Config, with their documented defaults
// (one place); the rest is text that cmd/proxy.cc parses into it. Which flag sets what is the
// table in cmd/proxy_options.h.
struct ProxyOptions {
  proxy::Config config;
  std::string upstream;                        // required: http(s)://host:port/path
  std::string listen = "127.0.0.1:8080";
  std::string store = "./ssestitch-store";
  bool no_store = false;
  std::string admin;                           // "" = no admin listener
  std::string sync = "batch";                  // always|batch|none
  std::string on_gap = "error";                // error|oldest
  std::string get_stream = "early";            // early|client
  std::string upstream_client = "own";         // own|curl
  bool no_reinit = false;
  bool no_retry = false;
  std::uint64_t max_event_size = sse::Limits{}.max_event_bytes;
  bool print_config = false;
};

struct InspectOptions {
  std::string store;
  std::string view = "summary";                // summary|sessions|streams|events|messages
  std::string session;
  std::optional<std::uint64_t> stream;
  std::uint64_t after = 0;
  std::uint64_t limit = 0;                     // 0 = no limit
  bool json = false;
  bool ndjson = false;
  std::string export_session;                  // --export-session: print that session as a tape file
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
  std::string session;                         // --session: serve this session as a mock MCP server
  double speed = 1;                            // mock: recorded pace divided by this (0: at once)
  std::uint64_t exit_after = 0;                // mock: stop after this many requests answered
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
