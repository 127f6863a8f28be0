#include <cstdio>

#include "cmd/subcommands.h"

namespace ssestitch::cmd {

int run_replay(const GlobalOptions&, const ReplayOptions&) {
  std::fprintf(stderr, "ssestitch: error: 'replay' is not implemented yet\n");
  return 3;
}

}  // namespace ssestitch::cmd
