#pragma once
// `ssestitch bench --upstream URL`: the MCP smoke test (a checklist against a real MCP Streamable
// HTTP server, one line per check), for CI. See ssestitch-bench(1), "SMOKE TEST".

#include <string>

#include "cmd/options.h"

namespace ssestitch::cmd {

int run_smoke(const BenchOptions& options);

// The running binary (/proc/self/exe; "ssestitch" from PATH when unreadable): the proxy that
// bench starts as a child.
std::string self_path();

}  // namespace ssestitch::cmd
