#pragma once
// Loopback TCP sockets for bench's own plumbing (proxy children, the cutting relay): always
// 127.0.0.1, close-on-exec, ports chosen by the OS.

#include <cstdint>

#include "core/util/result.h"

namespace ssestitch::bench {

struct BoundSocket {
  int fd = -1;
  std::uint16_t port = 0;
};

// A socket bound to 127.0.0.1 on a port the OS chose, listening when backlog > 0. The caller
// owns fd.
util::Result<BoundSocket> bind_loopback(int backlog);
// A TCP port on 127.0.0.1 that was free a moment ago (bound to 0, then released).
util::Result<std::uint16_t> free_port();
// A connected socket to 127.0.0.1:port, or -1.
int connect_loopback(std::uint16_t port);

}  // namespace ssestitch::bench
