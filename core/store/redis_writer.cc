#include "core/store/redis_writer.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/store/batch_check.h"
#include "core/store/redis_append.h"
#include "core/store/redis_liveness.h"
#include "core/store/redis_records.h"
#include "core/util/log.h"

namespace ssestitch::store::redis {
namespace {

using util::Errc;

constexpr std::int64_t k_maintenance_interval_ns = 1'000'000'000;

}  // namespace

Writer::Writer(const RedisOptions& options, Connection conn, std::function<void(std::uint64_t)> raise)
    : m_options(options),
      m_keys(options.address.prefix),
      m_clock(options.clock ? *options.clock : util::system_clock()),
      m_raise_next_stream(std::move(raise)),
      m_liveness(m_keys, options.address.display(), options.liveness_ms),
      m_conn(std::move(conn)) {
  m_next_maintenance_ns = m_clock.mono_ns() + k_maintenance_interval_ns;
}

util::Result<std::unique_ptr<Writer>> Writer::start(const RedisOptions& options,
                                                    std::function<void(std::uint64_t)> raise_next_stream) {
  auto conn = Connection::open(options.address, options.timeout_ms);
  if (!conn) return std::move(conn).error();
  std::unique_ptr<Writer> w(new Writer(options, std::move(*conn), std::move(raise_next_stream)));
  if (auto r = w->m_liveness.renew(*w->m_conn); !r) return std::move(r).error();
  if (auto r = w->connect(); !r) return std::move(r).error();
  try {
    w->m_thread = std::thread([p = w.get()] { p->run(); });
  } catch (const std::exception& e) {
    return util::fail(Errc::io_error, std::string("cannot start the store writer thread: ") + e.what());
  }
  return w;
}

Writer::~Writer() {
  loop_drain();
  {
    std::lock_guard lk(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_one();
  if (m_thread.joinable()) m_thread.join();
  if (m_conn && !m_conn->broken()) {
    m_liveness.release(*m_conn);
  }
}

// (Re)connects when needed and loads the append script.
util::Result<void> Writer::connect() {
  if (!m_conn || m_conn->broken()) {
    m_conn.reset();
    forget();
    auto c = Connection::open(m_options.address, m_options.timeout_ms);
    if (!c) return std::move(c).error();
    m_conn.emplace(std::move(*c));
  }
  if (m_append_sha.empty()) {
    auto r = m_conn->broadcast({"SCRIPT", "LOAD", append_script()});  // every master of a cluster
    if (!r) return std::move(r).error();
    for (const Reply& one : *r) {
      if (auto ok = check(one.get(), m_options.address.display() + ": SCRIPT LOAD"); !ok) return ok;
    }
    m_append_sha = std::string(text(r->front().get()));
  }
  return util::ok();
}

util::Result<void> Writer::submit(Batch batch, CommitCallback done) {
  if (auto r = check_batch(batch); !r) return r;
  const std::size_t bytes = batch.bytes();
  enum class Then { wait, send, wake } then = Then::wake;
  std::vector<Pending> spent;  // freed here, outside the lock
  {
    std::lock_guard lk(m_mutex);
    if (m_stopping) return util::fail(Errc::store_closed, "redis " + m_options.address.display() + ": the store is closing");
    if (m_queued_bytes != 0 && m_queued_bytes + bytes > m_options.queue_max_bytes) {
      ++m_metrics.queue_full;
      return util::fail(Errc::store_queue_full,
                        "redis " + m_options.address.display() + ": the writer queue holds " +
                            std::to_string(m_queued_bytes) + " bytes (queue_max_bytes " +
                            std::to_string(m_options.queue_max_bytes) + ")");
    }
    m_queued_bytes += bytes;
    ++m_submitted;
    const bool on_loop = m_attached && std::this_thread::get_id() == m_loop_thread;
    if (on_loop) spent.swap(m_spent);
    if (on_loop && m_turn == Turn::loop) {  // sent behind the groups in flight, if it may
      m_loop_queue.push_back(Pending{std::move(batch), std::move(done), bytes});
      then = loop_may_send() ? Then::send : Then::wait;
    } else if (on_loop && m_turn == Turn::idle && m_queue.empty() && !m_writer_wants && m_loop_conn.has_value() &&
               bytes <= k_loop_max_bytes && !housekeeping_due()) {
      // The loop takes the turn. Not when retention is due: it rides on the commit that finds it
      // due (before its callbacks, as in every store), which goes through this thread.
      then = Then::send;
      m_turn = Turn::loop;
      m_loop_busy = true;
      m_loop_queue.push_back(Pending{std::move(batch), std::move(done), bytes});
    } else {
      m_queue.push_back(Pending{std::move(batch), std::move(done), bytes});
    }
  }
  if (then == Then::send) {
    loop_send();
  } else if (then == Then::wake) {
    m_wake.notify_one();
  }
  return util::ok();
}

util::Result<void> Writer::flush() {
  loop_drain();
  std::unique_lock lk(m_mutex);
  const std::uint64_t target = m_submitted;
  m_committed_cv.wait(lk, [&] { return m_committed >= target; });
  return util::ok();
}

StoreMetrics Writer::metrics() const {
  std::lock_guard lk(m_mutex);
  return m_metrics;
}

void Writer::run() noexcept {
  std::vector<Pending> group;
  for (;;) {
    {
      std::unique_lock lk(m_mutex);
      m_wake.wait_for(lk, std::chrono::milliseconds(200), [&] {
        return m_turn != Turn::loop && (m_stopping || !m_queue.empty() || m_writer_wants);
      });
      const bool due = housekeeping_due();
      if (m_turn == Turn::loop) {  // the loop is committing: it hands the turn over when asked
        if (due || m_stopping) m_writer_wants = true;
        continue;
      }
      if (m_queue.empty() && m_stopping) return;
      if (m_queue.empty() && !due && !m_writer_wants && (m_loop_conn || !m_attached)) continue;
      m_turn = Turn::writer;
      m_writer_wants = false;
      take_group(group);
    }
    try {
      if (!group.empty()) {
        const auto t0 = std::chrono::steady_clock::now();
        util::Result<void> r = commit_group(group);
        if (!r && r.error().code == Errc::store_unavailable) r = hold(group, r.error());
        if (r || r.error().code != Errc::store_unavailable) m_outage_since.reset();  // Redis answers
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        if (!r) {
          forget();
          util::log(util::LogLevel::error, "store_write_failed", {{"error", r.error().message}});
          finish(group, r.error());
        } else {
          // Retention rides on a commit when due (before its callbacks, as in every store),
          // and runs alone when the store is idle.
          housekeeping();
          finish(group, CommitInfo{static_cast<std::int64_t>(ns), m_fenced});
        }
      } else {
        housekeeping();
      }
    } catch (const std::exception& e) {
      forget();
      util::log(util::LogLevel::error, "store_write_failed", {{"error", e.what()}});
      if (!group.empty()) finish(group, util::fail(Errc::internal, std::string("redis writer: ") + e.what()));
    }
    group.clear();
    prepare_loop_connection();
    {
      std::lock_guard lk(m_mutex);
      m_turn = Turn::idle;
    }
  }
}

// The oldest batches queued, up to k_group_max_bytes (at least one). Called under m_mutex.
void Writer::take_group(std::vector<Pending>& group) {
  std::size_t bytes = 0;
  std::size_t n = 0;
  while (n < m_queue.size() && (n == 0 || bytes + m_queue[n].bytes <= k_group_max_bytes)) bytes += m_queue[n++].bytes;
  if (n == m_queue.size()) {
    group.swap(m_queue);
    return;
  }
  group.assign(std::make_move_iterator(m_queue.begin()), std::make_move_iterator(m_queue.begin() + static_cast<std::ptrdiff_t>(n)));
  m_queue.erase(m_queue.begin(), m_queue.begin() + static_cast<std::ptrdiff_t>(n));
}

bool Writer::housekeeping_due() const {
  return m_liveness.renew_due() || m_clock.mono_ns() >= m_next_maintenance_ns;
}

// A non-blocking connection for the loop's commits, opened here (the loop never blocks on a
// connect). Not for a cluster or --redis-replicas (see "Commits on the loop").
void Writer::prepare_loop_connection() {
  {
    std::lock_guard lk(m_mutex);
    if (!m_attached) return;
  }
  if (m_conn && m_conn->cluster()) {
    std::lock_guard lk(m_mutex);
    m_attached = false;  // a cluster's commits stay here
    return;
  }
  if (!m_conn || m_conn->broken()) return;
  if (m_loop_conn && !m_loop_conn->broken()) return;
  m_loop_conn.reset();
  auto c = Connection::open(m_options.address, m_options.timeout_ms);
  if (c && !c->cluster()) {
    if (auto r = c->make_nonblocking(); r) m_loop_conn.emplace(std::move(*c));
  }
}

// Redis is unreachable or refusing (restart, failover, LOADING): the group is sent again, with
// a growing pause, until it commits or outage_hold_ms passed since the outage began (2 s once
// the store is closing): the groups queued behind one that gave up are tried once each, not
// held again. Meanwhile nothing is forwarded (commit before forward) and the queue fills until
// the proxy pauses its upstreams. Sending a group again is safe: sessions and indexes are
// overwritten with the same values and the append script skips seqs it already has.
util::Result<void> Writer::hold(std::vector<Pending>& group, util::Error error) {
  if (!m_outage_since) m_outage_since = std::chrono::steady_clock::now();
  const auto start = *m_outage_since;
  util::log(util::LogLevel::warn, "store_unavailable_holding", {{"error", error.message}});
  {
    std::lock_guard lk(m_mutex);
    m_metrics.degraded = true;
    m_metrics.last_error = error.message;
  }
  auto pause = std::chrono::milliseconds(50);
  util::Result<void> r = std::move(error);
  for (;;) {
    {
      std::unique_lock lk(m_mutex);
      const auto limit = std::chrono::milliseconds(m_stopping ? std::min<std::int64_t>(2000, m_options.outage_hold_ms)
                                                              : m_options.outage_hold_ms);
      if (std::chrono::steady_clock::now() - start >= limit) break;
      m_wake.wait_for(lk, pause, [&] { return m_stopping; });
    }
    pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    forget();
    r = commit_group(group);
    if (r || r.error().code != Errc::store_unavailable) break;
  }
  const auto held_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  util::log(r ? util::LogLevel::info : util::LogLevel::error, r ? "store_available_again" : "store_unavailable_gave_up",
            {{"held_ms", held_ms}});
  return r;
}

void Writer::housekeeping() {
  const std::int64_t now_ns = m_clock.mono_ns();
  if (m_liveness.renew_due()) {
    util::Result<void> r = connect();
    if (r) r = m_liveness.renew(*m_conn);
    if (!r) util::log(util::LogLevel::warn, "store_liveness_renew_failed", {{"error", r.error().message}});
  }
  if (now_ns >= m_next_maintenance_ns) {
    m_next_maintenance_ns = now_ns + k_maintenance_interval_ns;
    if (auto r = maintenance(m_clock.wall_ms()); !r) {
      forget();
      util::log(util::LogLevel::warn, "store_maintenance_failed", {{"error", r.error().message}});
    }
  }
}

void Writer::finish(std::vector<Pending>& group, const util::Result<CommitInfo>& result) {
  for (Pending& p : group) {
    if (!p.done) continue;
    try {
      p.done(result);
    } catch (...) {
      util::log(util::LogLevel::error, "store_callback_threw");
    }
  }
  std::size_t bytes = 0;
  for (const Pending& p : group) bytes += p.bytes;
  {
    std::lock_guard lk(m_mutex);
    if (m_attached && std::this_thread::get_id() != m_loop_thread) {
      m_spent.insert(m_spent.end(), std::make_move_iterator(group.begin()), std::make_move_iterator(group.end()));
    }
    m_queued_bytes -= std::min(m_queued_bytes, bytes);
    m_committed += group.size();
    if (result) {
      ++m_metrics.commits;
      record_commit_latency(m_metrics, result->commit_ns);
      m_metrics.degraded = false;
    } else {
      ++m_metrics.write_errors;
      m_metrics.degraded = true;
      m_metrics.last_error = result.error().message;
    }
  }
  m_committed_cv.notify_all();
}

// Reads the records of `streams` that are not cached (one pipeline).
util::Result<void> Writer::load(const std::vector<std::uint64_t>& streams) {
  std::vector<std::uint64_t> want;
  for (std::uint64_t n : streams) {
    if (!m_cache.count(n) && std::find(want.begin(), want.end(), n) == want.end()) want.push_back(n);
  }
  if (want.empty()) return util::ok();
  auto stored = read_streams(*m_conn, m_keys, m_options.address.display(), want);
  if (!stored) return std::move(stored).error();
  for (std::size_t i = 0; i < want.size(); ++i) {
    Cached c;
    c.rec.stream = want[i];
    if (auto& s = (*stored)[i]) {
      c.rec = std::move(s->rec);
      c.last_seq = s->last_seq;
      c.exists = true;
      c.indexed = true;
      c.indexed_session = c.rec.session;
    }
    m_cache.emplace(want[i], std::move(c));
  }
  return util::ok();
}

void Writer::forget() {
  m_cache.clear();
  m_raised_to = 0;
}

// --redis-replicas N: the group counts as committed once N replicas have it (WAIT covers every
// write this connection made; in a cluster, WAIT goes to every master and the fewest acks
// count). Fewer in time: store_unavailable, so the group is held and sent again (idempotent)
// like a group Redis did not answer.
util::Result<void> Writer::wait_for_replicas() {
  const std::string want = std::to_string(m_options.replicas);
  auto r = m_conn->broadcast({"WAIT", want, std::to_string(m_options.replica_wait_ms)});
  if (!r) return std::move(r).error();
  std::int64_t acked = std::numeric_limits<std::int64_t>::max();
  for (const Reply& one : *r) {
    if (auto ok = check(one.get(), m_options.address.display()); !ok) return ok;
    acked = std::min(acked, integer(one.get()));
  }
  if (acked >= static_cast<std::int64_t>(m_options.replicas)) return util::ok();
  return util::fail(Errc::store_unavailable, "redis " + m_options.address.display() + ": " + std::to_string(acked) +
                                                 " of " + want + " replicas acknowledged within " +
                                                 std::to_string(m_options.replica_wait_ms) + " ms (--redis-replicas)");
}

util::Result<void> Writer::commit_group(std::vector<Pending>& group) {
  m_fenced.clear();
  if (auto c = connect(); !c) return c;
  if (auto r = load(streams_of(group)); !r) return r;
  Staged s;
  stage(group, *m_conn, s);
  for (std::size_t i = 0; i < s.total(); ++i) {
    auto r = m_conn->reply();
    if (!r) return std::move(r).error();
    absorb(s, r->get());
  }
  if (auto r = settle(s); !r) return r;
  if (s.lost_script) {
    m_append_sha.clear();
    if (auto c = connect(); !c) return c;
    if (auto r = run_appends(s); !r) return r;
  }
  m_fenced = std::move(s.fenced);
  if (m_cache.size() > k_cache_max) forget();
  if (m_options.replicas > 0) return wait_for_replicas();
  return util::ok();
}

}  // namespace ssestitch::store::redis
