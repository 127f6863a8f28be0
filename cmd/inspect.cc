#include <cstdio>

#include "cmd/subcommands.h"

namespace ssestitch::cmd {

int run_inspect(const GlobalOptions&, const InspectOptions&) {
  std::fprintf(stderr, "ssestitch: error: 'inspect' is not implemented yet\n");
  return 3;
}

}  // namespace ssestitch::cmd
