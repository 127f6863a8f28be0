#pragma once
// IdleWatch: when an upstream SSE connection that sends nothing counts as dead.
//
// A half-open TCP connection (a NAT or load balancer that forgot it, a server that hangs)
// looks exactly like a quiet stream. The upstream leg drops a connection that stayed silent for
// --upstream-idle-timeout, but never sooner than 1.5x the longest silence it has seen on this
// stream while healthy: a server that sends a keepalive every 30 s is not cut at 20 s however
// the timeout is set. Silence that is ours (we paused reading) does not count: reset() then.
// Pure arithmetic on the times it is given (the caller's util::Clock), so it is unit-tested
// without waiting.

#include <algorithm>
#include <cstdint>

namespace ssestitch::proxy {

class IdleWatch {
 public:
  explicit IdleWatch(std::int64_t timeout_ms) noexcept : m_timeout_ns(timeout_ms * k_ns_per_ms) {}

  // Silence counts from `now_ns` (a new connection, or reading resumed after our own pause).
  void reset(std::int64_t now_ns) noexcept { m_last_ns = now_ns; }
  // Bytes arrived at `now_ns`; returns the silence they ended.
  std::int64_t bytes_at(std::int64_t now_ns) noexcept {
    const std::int64_t gap = now_ns - m_last_ns;
    m_max_gap_ns = std::max(m_max_gap_ns, gap);
    m_last_ns = now_ns;
    return gap;
  }
  // The silence after which the connection counts as dead.
  std::int64_t timeout_ns() const noexcept { return std::max(m_timeout_ns, m_max_gap_ns + m_max_gap_ns / 2); }
  // How long the connection has been silent at `now_ns`.
  std::int64_t silent_ns(std::int64_t now_ns) const noexcept { return now_ns - m_last_ns; }
  // Milliseconds until it counts as dead (rounded up), or 0: dead now.
  std::int64_t remaining_ms(std::int64_t now_ns) const noexcept {
    const std::int64_t left = timeout_ns() - silent_ns(now_ns);
    return left <= 0 ? 0 : left / k_ns_per_ms + 1;
  }

 private:
  static constexpr std::int64_t k_ns_per_ms = 1'000'000;
  std::int64_t m_timeout_ns;
  std::int64_t m_last_ns = 0;
  std::int64_t m_max_gap_ns = 0;  // longest silence seen while healthy
};

}  // namespace ssestitch::proxy
