#pragma once
// Keepalive: `: keepalive` comments on a client's SSE response that has been quiet for
// --keepalive (DESIGN.md behaviour 7), so intermediaries with idle timeouts (60 s load
// balancers, ~100 s CDNs, 5 min Node) do not cut it. One per client response, used by
// StreamRelay and by Exchange's stateless-era pass-through: the owner reports its own writes
// (wrote()), and a comment goes out only after a whole quiet interval (10% slack), so a busy
// stream never carries one. Loop thread only.

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/net/event_loop.h"
#include "core/proxy/context.h"

namespace ssestitch::proxy {

class Keepalive {
 public:
  using Write = std::function<void(std::string_view)>;
  // `write` sends bytes to the client; called from the timer only.
  Keepalive(Context& ctx, Write write);

  // The response started (or a new client took it over): quiet time counts from now.
  void start();
  // No client any more.
  void stop();
  // The owner wrote to the client now.
  void wrote() noexcept;

 private:
  void tick();

  Context& m_ctx;
  Write m_write;
  net::Timer m_timer;
  std::int64_t m_last_write_ns = 0;
};

}  // namespace ssestitch::proxy
