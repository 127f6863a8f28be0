#pragma once
// The MCP smoke test of `ssestitch bench --upstream URL`: a checklist against a real MCP
// Streamable HTTP server, for CI. Each check passes, fails or is skipped with a reason;
// informational checks (keepalive cadence, drops) never fail the run. Buffering is judged
// from the first streamed --call answer: one burst after >= 1 s fails, a shorter burst is
// skipped (a tool that writes at once cannot be told from a buffering middlebox).
// Requests use libcurl's easy API on the calling thread (plus one thread per session for the
// concurrency check); extra headers (--header) go on every request and are never printed.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::bench {

struct SmokeOptions {
  std::string url;
  std::vector<std::string> headers;                        // "Name: value"
  std::vector<std::pair<std::string, std::string>> calls;  // tool, JSON arguments
  std::uint64_t sessions = 4;
  std::uint64_t requests = 50;
  std::int64_t timeout_ms = 10'000;
};

struct Check {
  enum class Status { pass, fail, skip };
  std::string name;      // stable: initialize, initialized, ping, tools/list, resources/list,
                         // prompts/list, call <tool>, get-stream, keepalive, buffering,
                         // resumability, concurrency, delete, drops (--through-proxy)
  Status status = Status::pass;
  std::string detail;
  double ms = 0;
  bool required = true;
};

struct SmokeReport {
  std::vector<Check> checks;
  bool unreachable = false;  // the server could not be reached at all (exit 4)
  std::string protocol_version;
};

SmokeReport run_smoke_checks(const SmokeOptions& options);

std::string_view to_string(Check::Status s) noexcept;

}  // namespace ssestitch::bench
