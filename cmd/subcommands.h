#pragma once
// Entry points of the subcommands; each returns a process exit code (cmd/exit_code.h).
// They never include CLI11 and never call exit().

#include "cmd/options.h"

namespace ssestitch::cmd {

int run_proxy(const GlobalOptions& global, const ProxyOptions& options);
int run_inspect(const GlobalOptions& global, const InspectOptions& options);
int run_replay(const GlobalOptions& global, const ReplayOptions& options);
int run_bench(const GlobalOptions& global, const BenchOptions& options);

}  // namespace ssestitch::cmd
