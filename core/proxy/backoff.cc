#include "core/proxy/backoff.h"

#include <algorithm>
#include <charconv>

namespace ssestitch::proxy {

Backoff::Backoff(std::int64_t base_ms, std::int64_t cap_ms, std::int64_t budget_ms, std::uint64_t seed)
    : m_base_ms(std::max<std::int64_t>(base_ms, 1)), m_cap_ms(std::max(cap_ms, base_ms)),
      m_budget_ms(budget_ms), m_rng(seed) {}

void Backoff::failed(std::int64_t now_ms) {
  if (!m_streak_start_ms) m_streak_start_ms = now_ms;
  ++m_failures;
}

void Backoff::succeeded() {
  m_failures = 0;
  m_streak_start_ms.reset();
}

std::int64_t Backoff::next_delay_ms(std::optional<std::uint32_t> retry_ms, std::optional<std::int64_t> retry_after_ms,
                                    bool now_allowed) {
  const unsigned shift = std::min(m_failures, 31u) - (m_failures > 0 ? 1 : 0);
  const std::int64_t ceiling =
      m_failures == 0 ? std::min(m_base_ms, k_first_jitter_ms) : std::min(m_cap_ms, m_base_ms << shift);
  std::uniform_int_distribution<std::int64_t> dist(0, ceiling);
  std::int64_t delay = m_failures == 0 && now_allowed ? 0 : dist(m_rng);
  if (retry_ms) delay = std::max<std::int64_t>(delay, *retry_ms);
  if (retry_after_ms) delay = std::max(delay, *retry_after_ms);
  return delay;
}

bool Backoff::exhausted(std::int64_t now_ms) const {
  return m_streak_start_ms && now_ms - *m_streak_start_ms >= m_budget_ms;
}

std::optional<std::int64_t> parse_retry_after_ms(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  std::int64_t seconds = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::min<std::int64_t>(seconds, 24 * 3600) * 1000;
}

}  // namespace ssestitch::proxy
