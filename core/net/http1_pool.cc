#include "core/net/http1_pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace ssestitch::net {

namespace {

// Whether an idle connection can carry a request: nothing to read and no error pending (a
// closed peer reads as EOF, a reset as an error, stray bytes would corrupt the next response).
bool still_open(int fd) noexcept {
  char c = 0;
  const ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

util::UniqueFd Http1Pool::take(std::string_view origin) {
  auto it = m_idle.find(std::string(origin));
  if (it == m_idle.end()) return {};
  std::vector<Idle>& list = it->second;
  const std::int64_t oldest = m_clock.mono_ns() - k_max_idle_ms * 1'000'000;
  util::UniqueFd found;
  while (!list.empty() && !found) {
    Idle idle = std::move(list.back());
    list.pop_back();
    if (idle.since_ns >= oldest && still_open(idle.fd.get())) found = std::move(idle.fd);
  }
  if (list.empty()) m_idle.erase(it);
  return found;
}

void Http1Pool::put(std::string_view origin, util::UniqueFd fd) {
  const std::int64_t now = m_clock.mono_ns();
  auto it = m_idle.find(std::string(origin));
  if (it == m_idle.end()) {
    if (m_idle.size() >= k_max_origins) return;  // closed
    it = m_idle.emplace(std::string(origin), std::vector<Idle>{}).first;
  }
  std::vector<Idle>& list = it->second;
  // The oldest go first: past their age, or to make room.
  const std::int64_t oldest = now - k_max_idle_ms * 1'000'000;
  std::size_t stale = 0;
  while (stale < list.size() && list[stale].since_ns < oldest) ++stale;
  if (list.size() - stale >= k_max_idle_per_origin) stale = list.size() - k_max_idle_per_origin + 1;
  list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(stale));
  list.push_back(Idle{std::move(fd), now});
}

std::size_t Http1Pool::idle() const noexcept {
  std::size_t n = 0;
  for (const auto& [origin, list] : m_idle) n += list.size();
  return n;
}

}  // namespace ssestitch::net
