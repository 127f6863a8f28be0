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

// Whether what the loop holds may be sent now, behind the groups in flight (under m_mutex or on
// the loop thread while it holds the turn). Not when this thread asked for the turn, nor past
// k_loop_max_inflight groups or k_loop_max_bytes queued: the queue then waits for the groups in
// flight and goes to this thread.
bool Writer::loop_may_send() const {
  std::size_t bytes = 0;
  for (const Pending& p : m_loop_queue) bytes += p.bytes;
  return !m_writer_wants && m_loop_inflight.size() < k_loop_max_inflight && bytes <= k_loop_max_bytes;
}

// Sends what the loop holds as one pipeline behind the groups in flight. What cannot go this
// way (no connection, a stream not cached yet) waits for the groups in flight, then goes to the
// writer thread.
void Writer::loop_send() {
  if (m_loop_queue.empty()) return;
  if (!m_loop_conn || m_loop_conn->broken() || !cached(m_loop_queue)) {
    if (m_loop_inflight.empty()) loop_hand_over(nullptr);
    return;
  }
  LoopCommit& c = m_loop_inflight.emplace_back();
  c.group.swap(m_loop_queue);
  stage(c.group, *m_loop_conn, c.staged);
  c.t0_ns = util::system_clock().mono_ns();
  m_loop_writing = true;
  if (!m_loop_in_io) loop_io(0);  // else loop_io writes it once the callbacks are done
}

void Writer::loop_io(int what) {
  if (!m_loop_busy || m_loop_inflight.empty()) return;  // a late wake-up after a drain
  m_loop_in_io = true;
  util::Result<void> r = util::ok();
  if (what & LoopWatch::timed_out) {
    r = util::fail(util::Errc::store_unavailable, "redis " + m_options.address.display() + ": no reply within " +
                                                      std::to_string(m_options.timeout_ms) + " ms");
  }
  if (r && (what & LoopWatch::readable)) r = m_loop_conn->read();
  while (r && !m_loop_inflight.empty()) {
    Staged& s = m_loop_inflight.front().staged;
    auto reply = m_loop_conn->ready_reply();
    if (!reply) {
      r = std::move(reply).error();
    } else if (!*reply) {
      break;
    } else {
      absorb(s, (*reply)->get());
      if (s.taken == s.total()) {
        loop_done();  // its callbacks may send more; an error hands everything over
        bool may = false;
        if (m_loop_busy) {
          std::lock_guard lk(m_mutex);
          may = loop_may_send();
        }
        if (may) loop_send();  // what queued while the group was at the limit
        // Handed over (by loop_done, a callback or that send): the writer thread may hold the
        // turn already, so nothing here may touch the loop's state again.
        if (!m_loop_busy) {
          m_loop_in_io = false;
          return;
        }
      }
    }
  }
  m_loop_in_io = false;
  if (r && m_loop_writing) {
    auto written = m_loop_conn->write();
    if (written) {
      m_loop_writing = !*written;
    } else {
      r = std::move(written).error();
    }
  }
  if (!r) {
    loop_hand_over(&r.error());
    return;
  }
  if (m_loop_inflight.empty()) {
    if (m_loop_queue.empty()) {
      release_turn();
    } else {
      loop_hand_over(nullptr);  // what could not go this way
    }
    return;
  }
  m_watch->arm(m_loop_conn->fd(), LoopWatch::readable | (m_loop_writing ? LoopWatch::writable : 0), m_options.timeout_ms);
}

// The oldest group in flight has every reply: its callbacks run here (they may submit, and so
// send). An error or a lost script hands everything to the writer thread, which meets the error
// again or loads the script.
void Writer::loop_done() {
  if (const Staged& s = m_loop_inflight.front().staged; !s.error || s.lost_script) {
    loop_hand_over(nullptr);
    return;
  }
  LoopCommit done = std::move(m_loop_inflight.front());
  m_loop_inflight.pop_front();
  (void)settle(done.staged);
  if (m_cache.size() > k_cache_max && m_loop_inflight.empty()) forget();
  finish(done.group, CommitInfo{util::system_clock().mono_ns() - done.t0_ns, std::move(done.staged.fenced)});
}

// The writer thread takes the turn with everything the loop holds, in submission order (the
// groups in flight, oldest first, then the queue). With groups in flight the cache may be ahead
// of Redis, so it is forgotten, and their replies are not read: the loop's connection is dropped
// (the writer opens a new one) and the writer commits them again from scratch (idempotent).
void Writer::loop_hand_over(const util::Error* error) {
  if (m_watch) m_watch->disarm();
  m_loop_writing = false;
  const bool staged = !m_loop_inflight.empty();
  if (staged) forget();
  if (error != nullptr) util::log(util::LogLevel::warn, "store_loop_commit_failed", {{"error", error->message}});
  if (error != nullptr || staged) m_loop_conn.reset();
  std::vector<Pending> all;
  for (LoopCommit& c : m_loop_inflight) {
    all.insert(all.end(), std::make_move_iterator(c.group.begin()), std::make_move_iterator(c.group.end()));
  }
  m_loop_inflight.clear();
  all.insert(all.end(), std::make_move_iterator(m_loop_queue.begin()), std::make_move_iterator(m_loop_queue.end()));
  m_loop_queue = std::move(all);
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
    if (m_turn != Turn::loop) return;  // released already: the writer thread may hold it now
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
  while (m_loop_busy && !m_loop_inflight.empty()) {  // (empty: called from a callback, which must not)
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
