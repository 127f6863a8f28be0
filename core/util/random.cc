#include "core/util/random.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sys/random.h>
#include <vector>

namespace ssestitch::util {
namespace {

void fill(void* buf, std::size_t n) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    const ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      std::perror("ssestitch: getrandom");
      std::abort();
    }
    p += got;
    n -= static_cast<std::size_t>(got);
  }
}

}  // namespace

std::string random_hex(std::size_t bytes) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::vector<unsigned char> raw(bytes);
  fill(raw.data(), raw.size());
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out += k_hex[b >> 4];
    out += k_hex[b & 0xf];
  }
  return out;
}

std::uint64_t random_seed() {
  thread_local SplitMix64 seeds([] {
    std::uint64_t seed = 0;
    fill(&seed, sizeof seed);
    return seed;
  }());
  return seeds();
}

}  // namespace ssestitch::util
