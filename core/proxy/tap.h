#pragma once
// Tap: `proxy --tap PATH|-`: every message the proxy passes, as one NDJSON line each
// (tape::ndjson_line, the fields of ssestitch-proxy(1) TAP FORMAT), the moment it passes, for
// `| jq` pipelines.
//
// The problem: a pipe reader that stops reading (or a full disk) must never slow or stop
// forwarding, and a terminal or pipe must not be switched to non-blocking mode under the
// user's shell.
//
// The approach: the loop thread formats the line and appends it to a bounded queue
// (k_max_queued_bytes); one writer thread writes it, a PIPE_BUF at a time once poll() says the
// descriptor takes it (so no write blocks, and a stopping proxy waits at most k_poll_ms for a
// stalled reader and k_drain_ms for a slow one). A line that does not fit is
// dropped and counted (ssestitch_tap_dropped_total), said once in the log; when the reader goes
// away (EPIPE) or a write fails, the tap closes, said once, and forwarding goes on.
//
// Rejected: writing from the loop with O_NONBLOCK (the flag is shared with every process on the
// same terminal or pipe, and stays after we exit); an unbounded queue (a stalled reader would
// grow the proxy without limit).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "core/proxy/message_observer.h"
#include "core/util/result.h"

namespace ssestitch::proxy {

struct Metrics;

class Tap final : public MessageObserver {
 public:
  static constexpr std::size_t k_max_queued_bytes = 8u << 20;
  static constexpr int k_poll_ms = 200;     // how long a stopping proxy waits for a stalled reader
  static constexpr int k_drain_ms = 1000;  // ... and for a slow one to take what is queued

  // `path`: "-" for standard output, else a file (created 0600, appended to). Errors: io_error.
  static util::Result<std::unique_ptr<Tap>> open(const std::string& path, Metrics& metrics);
  ~Tap() override;  // writes what is queued unless the reader stalls, then joins the writer
  Tap(const Tap&) = delete;
  Tap& operator=(const Tap&) = delete;

  void observe(const Observed& observed) noexcept override;

 private:
  Tap(int fd, bool owns_fd, Metrics& metrics);
  void write_loop();
  bool write_all(std::string_view line);

  int m_fd;
  bool m_owns_fd;
  Metrics& m_metrics;
  tape::Latencies m_latencies;
  bool m_said_dropped = false;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<std::string> m_queue;   // guarded by m_mutex
  std::size_t m_queued_bytes = 0;    // guarded by m_mutex
  bool m_stopping = false;           // guarded by m_mutex
  std::chrono::steady_clock::time_point m_stop_deadline;  // guarded by m_mutex
  bool m_closed = false;             // guarded by m_mutex: the reader went away
  bool m_said_closed = false;        // loop thread
  std::thread m_writer;
};

}  // namespace ssestitch::proxy
