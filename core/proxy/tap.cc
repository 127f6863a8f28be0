#include "core/proxy/tap.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstring>

#include "core/proxy/metrics.h"
#include "core/util/log.h"

namespace ssestitch::proxy {

util::Result<std::unique_ptr<Tap>> Tap::open(const std::string& path, Metrics& metrics) {
  if (path == "-") return std::unique_ptr<Tap>(new Tap(STDOUT_FILENO, false, metrics));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return util::fail(util::Errc::io_error, "--tap " + path + ": " + std::strerror(errno));
  return std::unique_ptr<Tap>(new Tap(fd, true, metrics));
}

Tap::Tap(int fd, bool owns_fd, Metrics& metrics)
    : m_fd(fd), m_owns_fd(owns_fd), m_metrics(metrics), m_writer([this] { write_loop(); }) {}

Tap::~Tap() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_stop_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(k_drain_ms);
  }
  m_wake.notify_one();
  m_writer.join();
  if (m_owns_fd) ::close(m_fd);
}

void Tap::observe(const Observed& observed) noexcept {
  try {
    std::string line = tape::ndjson_line(observed.message(), observed.summary(), m_latencies);
    bool dropped = false, closed = false;
    {
      std::lock_guard lock(m_mutex);
      closed = m_closed;
      if (!closed && m_queued_bytes + line.size() > k_max_queued_bytes) {
        dropped = true;
      } else if (!closed) {
        m_queued_bytes += line.size();
        m_queue.push_back(std::move(line));
      }
    }
    if (closed) {
      if (!std::exchange(m_said_closed, true)) util::log(util::LogLevel::warn, "tap_closed", {{"message", "the tap's reader went away; forwarding goes on"}});
      return;
    }
    if (dropped) {
      ++m_metrics.tap_dropped;
      if (!std::exchange(m_said_dropped, true)) {
        util::log(util::LogLevel::warn, "tap_dropping",
                  {{"message", "the tap's reader is slower than the traffic; lines are dropped (ssestitch_tap_dropped_total)"}});
      }
      return;
    }
    m_wake.notify_one();
  } catch (...) {
    ++m_metrics.tap_dropped;  // out of memory formatting one line: that line is lost, nothing else
  }
}

// Writes `line` in pieces of at most PIPE_BUF after poll() says the descriptor can take them,
// so no write() blocks (one writer); gives up when the proxy stops while the reader stalls.
bool Tap::write_all(std::string_view line) {
  for (std::size_t off = 0; off < line.size();) {
    pollfd p{m_fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, k_poll_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0) return false;
    {
      std::lock_guard lock(m_mutex);
      // Stopping: a stalled reader gets nothing more, a slow one at most k_drain_ms.
      if (m_stopping && (ready == 0 || std::chrono::steady_clock::now() > m_stop_deadline)) return false;
    }
    if (ready == 0) continue;
    const ssize_t n = ::write(m_fd, line.data() + off, std::min<std::size_t>(line.size() - off, PIPE_BUF));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

void Tap::write_loop() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
    if (m_queue.empty()) return;  // stopping, all written
    std::string line = std::move(m_queue.front());
    m_queue.pop_front();
    m_queued_bytes -= line.size();
    lock.unlock();
    const bool failed = !write_all(line);
    lock.lock();
    if (failed) {
      m_closed = true;
      m_queue.clear();
      m_queued_bytes = 0;
      return;
    }
  }
}

}  // namespace ssestitch::proxy
