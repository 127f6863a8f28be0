#pragma once
// Reconnect delays for upstream streams (DESIGN.md behaviour 1).
//
// Failed attempts (connect errors, non-2xx answers, a non-SSE answer, a connection that closes
// without bringing anything new) grow an exponential backoff with full jitter:
// delay = uniform(0, min(cap, base * 2^failures)). Progress (a fresh event or id) resets the
// failure count, so a drop after a healthy stream reconnects within `base`, and the 2025-11-25
// "polling" pattern (server sends retry: and closes) reconnects after exactly `retry` ms
// instead of backing off. The delay is never shorter than the stream's last `retry:` nor than
// a Retry-After the upstream sent.
// The budget counts from the first failure of the current streak: once it is spent, give up.

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

namespace ssestitch::proxy {

class Backoff {
 public:
  Backoff(std::int64_t base_ms, std::int64_t cap_ms, std::int64_t budget_ms, std::uint64_t seed);

  // A reconnect attempt failed at `now_ms`.
  void failed(std::int64_t now_ms);
  // An attempt succeeded (200 + SSE): the failure streak ends.
  void succeeded();
  // The delay before the next attempt.
  std::int64_t next_delay_ms(std::optional<std::uint32_t> retry_ms, std::optional<std::int64_t> retry_after_ms);
  // Whether the budget of the current failure streak is spent at `now_ms`.
  bool exhausted(std::int64_t now_ms) const;
  unsigned failures() const noexcept { return m_failures; }

 private:
  std::int64_t m_base_ms, m_cap_ms, m_budget_ms;
  unsigned m_failures = 0;
  std::optional<std::int64_t> m_streak_start_ms;
  std::mt19937_64 m_rng;
};

// Retry-After as delay-seconds ("120"); HTTP dates are not honoured (nullopt).
std::optional<std::int64_t> parse_retry_after_ms(std::string_view value);

}  // namespace ssestitch::proxy
