// redis::Writer, its commits on the proxy's loop (redis_writer.h, "Commits on the loop").
#include <poll.h>

#include <cerrno>

#include "core/store/redis_writer.h"
#include "core/util/clock.h"
#include "core/util/log.h"

namespace ssestitch::store::redis {

void Writer::attach_loop(LoopWatchFactory make) {
  if (!make) loop_drain();
  m_watch.reset();
  if (make) m_watch = make([this](int what) { loop_io(what); });
  {
    std::lock_guard lk(m_mutex);
    m_attached = m_watch != nullptr && m_options.replicas == 0;  // WAIT stays on the writer thread
    m_loop_thread = std::this_thread::get_id();
  }
  m_wake.notify_one();  // the writer opens the loop's connection
}

// Sends what the loop holds as one pipeline, or hands it to the writer thread when it cannot go
// this way.
void Writer::loop_send() {
  m_loop_group.swap(m_loop_queue);
  m_fenced.clear();
  if (!m_loop_conn || m_loop_conn->broken() || !cached(m_loop_group)) {
    loop_hand_over(false, nullptr);
    return;
  }
  m_loop_staged = Staged{};
  stage(m_loop_group, *m_loop_conn, m_loop_staged);
  m_loop_t0_ns = util::system_clock().mono_ns();
  m_loop_writing = true;
  loop_io(0);
}

void Writer::loop_io(int what) {
  if (!m_loop_busy || m_loop_group.empty()) return;  // a late wake-up after a drain
  util::Result<void> r = util::ok();
  if (what & LoopWatch::timed_out) {
    r = util::fail(util::Errc::store_unavailable, "redis " + m_options.address.display() + ": no reply within " +
                                                      std::to_string(m_options.timeout_ms) + " ms");
  }
  if (r && m_loop_writing) {
    auto written = m_loop_conn->write();
    if (written) {
      m_loop_writing = !*written;
    } else {
      r = std::move(written).error();
    }
  }
  if (r && (what & LoopWatch::readable)) r = m_loop_conn->read();
  while (r && m_loop_staged.taken < m_loop_staged.total()) {
    auto reply = m_loop_conn->ready_reply();
    if (!reply) {
      r = std::move(reply).error();
    } else if (!*reply) {
      break;
    } else {
      absorb(m_loop_staged, (*reply)->get());
    }
  }
  if (!r) {
    loop_hand_over(true, &r.error());
    return;
  }
  if (m_loop_staged.taken == m_loop_staged.total()) {
    loop_done();
    return;
  }
  m_watch->arm(m_loop_conn->fd(), LoopWatch::readable | (m_loop_writing ? LoopWatch::writable : 0), m_options.timeout_ms);
}

// Every reply is in: the callbacks run here and the turn goes back, with what was submitted
// meanwhile.
void Writer::loop_done() {
  Staged& s = m_loop_staged;
  if (!s.error || s.lost_script) {
    loop_hand_over(true, nullptr);  // the writer meets the error again, or loads the script
    return;
  }
  (void)settle(s);
  if (m_cache.size() > k_cache_max) forget();
  std::vector<Pending> group;
  group.swap(m_loop_group);
  finish(group, CommitInfo{util::system_clock().mono_ns() - m_loop_t0_ns, m_fenced});  // may submit: to m_loop_queue
  release_turn();
}

// The writer thread takes the turn with everything the loop holds, in submission order. After
// a staged group: the cache may be ahead of Redis, so it is forgotten; after a failure the
// loop's connection is dropped too (the writer opens a new one).
void Writer::loop_hand_over(bool staged, const util::Error* error) {
  if (m_watch) m_watch->disarm();
  m_loop_writing = false;
  if (staged) forget();
  if (error != nullptr) {
    util::log(util::LogLevel::warn, "store_loop_commit_failed", {{"error", error->message}});
    m_loop_conn.reset();
  }
  m_loop_queue.insert(m_loop_queue.begin(), std::make_move_iterator(m_loop_group.begin()),
                      std::make_move_iterator(m_loop_group.end()));
  m_loop_group.clear();
  release_turn();
}

// Gives the writer thread the turn and what the loop holds (m_loop_queue), in submission order.
// It is woken only when it has something to do: waking it after every paced commit cost a
// context switch of each thread per event (perf stat, 25,000 events at 5,000/s: the writer
// thread 24,785 switches, the loop thread 2.75 per event).
void Writer::release_turn() {
  bool wake = false;
  {
    std::lock_guard lk(m_mutex);
    m_queue.insert(m_queue.begin(), std::make_move_iterator(m_loop_queue.begin()),
                   std::make_move_iterator(m_loop_queue.end()));
    m_loop_queue.clear();
    wake = !m_queue.empty() || m_writer_wants || m_stopping || !m_loop_conn || m_loop_conn->broken();
    m_turn = Turn::idle;
    m_loop_busy = false;
  }
  if (wake) m_wake.notify_one();
}

// Reads the replies of the loop's pipeline in flight without the loop (flush at shutdown).
void Writer::loop_drain() {
  {
    std::lock_guard lk(m_mutex);
    if (!m_attached || std::this_thread::get_id() != m_loop_thread) return;
  }
  while (m_loop_busy && !m_loop_group.empty()) {  // (empty: called from a callback, which must not)
    pollfd p{m_loop_conn->fd(), static_cast<short>(POLLIN | (m_loop_writing ? POLLOUT : 0)), 0};
    const int n = poll(&p, 1, m_options.timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    int what = 0;
    if (n <= 0) what = LoopWatch::timed_out;
    if (n > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP))) what |= LoopWatch::readable;
    if (n > 0 && (p.revents & POLLOUT)) what |= LoopWatch::writable;
    loop_io(what);
  }
}

}  // namespace ssestitch::store::redis
