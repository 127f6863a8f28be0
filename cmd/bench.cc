#include <cstdio>

#include "cmd/subcommands.h"

namespace ssestitch::cmd {

int run_bench(const GlobalOptions&, const BenchOptions&) {
  std::fprintf(stderr, "ssestitch: error: 'bench' is not implemented yet\n");
  return 3;
}

}  // namespace ssestitch::cmd
