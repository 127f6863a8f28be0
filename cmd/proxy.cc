#include <cstdio>

#include "cmd/subcommands.h"

namespace ssestitch::cmd {

int run_proxy(const GlobalOptions&, const ProxyOptions&) {
  std::fprintf(stderr, "ssestitch: error: 'proxy' is not implemented yet\n");
  return 3;
}

}  // namespace ssestitch::cmd
