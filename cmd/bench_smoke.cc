#include "cmd/bench_smoke.h"

#include <cstdio>

namespace ssestitch::cmd {

int run_smoke(const BenchOptions&) {
  std::fprintf(stderr, "ssestitch: error: smoke test: work in progress\n");
  return 1;
}

}  // namespace ssestitch::cmd
