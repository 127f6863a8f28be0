#pragma once
// `ssestitch bench --upstream URL`: the MCP smoke test (a checklist against a real MCP Streamable
// HTTP server, one line per check), for CI. See ssestitch-bench(1), "SMOKE TEST".

#include "cmd/options.h"

namespace ssestitch::cmd {

int run_smoke(const BenchOptions& options);

}  // namespace ssestitch::cmd
