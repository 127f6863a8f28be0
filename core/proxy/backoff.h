#pragma once
// Reconnect delays for upstream streams (DESIGN.md behaviour 1).
//
// The first resume after a healthy stream goes at once: in this loop turn when no other first
// resume went in the last millisecond (FirstResumeGate), else after uniform(0, 1 ms) of jitter,
// so that streams cut together do not all reconnect in the same turn: a drop is usually a connection that died
// (an idle cut, a reset), not a server that is down, and every millisecond of waiting is a
// millisecond of events the client does not get. Failed attempts (connect errors, non-2xx
// answers, a non-SSE answer, a connection that closes without bringing anything new) then grow
// an exponential backoff with full jitter: delay = uniform(0, min(cap, base * 2^(failures-1))).
// Progress (a fresh event or id) resets the failure count, and the 2025-11-25 "polling"
// pattern (server sends retry: and closes) reconnects after exactly `retry` ms instead of
// backing off. The delay is never shorter than the stream's last `retry:` nor than a
// Retry-After the upstream sent.
// Measured (peer-bench reconn: 20,000 events, upstream cut every 1,000, 3 interleaved rounds,
// medians; direct 2.1-2.9M ev/s): waiting uniform(0, base = 200 ms) before the first resume, as
// before, 9,048 ev/s (2.2 s for 20 cuts); uniform(0, 5 ms) 204k-219k ev/s; uniform(0, 1 ms)
// 388k ev/s (2.6 ms a cut, most of it the reconnect itself); the lone first resume at once
// instead of uniform(0, 1 ms): see FirstResumeGate. A server that is down fails the
// first attempt and is backed off from then on, so the herd spreads after one try.
// The budget counts from the first failure of the current streak: once it is spent, give up.

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "core/util/random.h"

namespace ssestitch::proxy {

class Backoff {
 public:
  // The jitter of the first resume after a healthy stream.
  static constexpr std::int64_t k_first_jitter_ms = 1;

  Backoff(std::int64_t base_ms, std::int64_t cap_ms, std::int64_t budget_ms, std::uint64_t seed);

  // A reconnect attempt failed at `now_ms`.
  void failed(std::int64_t now_ms);
  // An attempt succeeded (200 + SSE): the failure streak ends.
  void succeeded();
  // The delay before the next attempt; `now_allowed`: a first resume may go at once (0 ms, the
  // FirstResumeGate's say) instead of after the first jitter.
  std::int64_t next_delay_ms(std::optional<std::uint32_t> retry_ms, std::optional<std::int64_t> retry_after_ms,
                             bool now_allowed = false);
  // Whether the budget of the current failure streak is spent at `now_ms`.
  bool exhausted(std::int64_t now_ms) const;
  unsigned failures() const noexcept { return m_failures; }

 private:
  std::int64_t m_base_ms, m_cap_ms, m_budget_ms;
  unsigned m_failures = 0;
  std::optional<std::int64_t> m_streak_start_ms;
  util::SplitMix64 m_rng;
};

// Which first resumes may skip the jitter, shared by every stream of a proxy: at most one per
// millisecond, so that a lone cut stream resumes in the same loop turn while a herd (an upstream
// restart cutting many streams at once) is still spread by the jitter. Measured, peer-bench
// reconn (20,000 events, upstream cut every 1,000; one interleaved run, 3 rounds, medians):
// 344k ev/s with uniform(0, 1 ms) for every first resume, 442k with this gate (direct 2.1M).
class FirstResumeGate {
 public:
  // Whether a first resume at `now_ns` (monotonic) may go at once; takes the slot if so.
  bool take(std::int64_t now_ns) noexcept {
    if (m_taken && now_ns - m_last_ns < 1'000'000) return false;
    m_taken = true;
    m_last_ns = now_ns;
    return true;
  }

 private:
  bool m_taken = false;
  std::int64_t m_last_ns = 0;
};

// Retry-After as delay-seconds ("120"); HTTP dates are not honoured (nullopt).
std::optional<std::int64_t> parse_retry_after_ms(std::string_view value);

}  // namespace ssestitch::proxy
