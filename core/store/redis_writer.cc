#include "core/store/redis_writer.h"


#include <algorithm>
#include <chrono>
#include <limits>
#include <map>

#include "core/store/batch_check.h"
#include "core/store/lmdb_codec.h"
#include "core/store/redis_append.h"
#include "core/store/redis_liveness.h"
#include "core/store/redis_records.h"
#include "core/util/log.h"

namespace ssestitch::store::redis {
namespace {

using util::Errc;

constexpr std::int64_t k_maintenance_interval_ns = 1'000'000'000;
constexpr std::size_t k_window = 512;          // sessions / streams visited per maintenance pass
constexpr std::size_t k_cache_max = 10'000;    // stream records cached before the cache is dropped

// KEYS: next_stream. ARGV: n. Raises the counter to n.
constexpr const char* k_raise_script = R"lua(
if (tonumber(redis.call('GET', KEYS[1])) or 0) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
)lua";

bool finished(StreamState s) { return s == StreamState::completed || s == StreamState::abandoned; }

bool idle_past(std::int64_t last_active_ms, std::int64_t ttl_ms, std::int64_t now_ms) {
  return ttl_ms > 0 && last_active_ms <= now_ms - ttl_ms;
}

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
    m_queue.push_back(Pending{std::move(batch), std::move(done), bytes});
  }
  m_wake.notify_one();
  return util::ok();
}

util::Result<void> Writer::flush() {
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
      m_wake.wait_for(lk, std::chrono::milliseconds(200), [&] { return m_stopping || !m_queue.empty(); });
      if (m_queue.empty() && m_stopping) return;
      group.swap(m_queue);
    }
    try {
      if (!group.empty()) {
        const auto t0 = std::chrono::steady_clock::now();
        util::Result<void> r = commit_group(group);
        if (!r && r.error().code == Errc::store_unavailable) r = hold(group, r.error());
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
  }
}

// Redis is unreachable or refusing (restart, failover, LOADING): the group is sent again, with
// a growing pause, until it commits or outage_hold_ms passed (2 s once the store is closing).
// Meanwhile nothing is forwarded (commit before forward) and the queue fills until the proxy
// pauses its upstreams. Sending a group again is safe: sessions and indexes are overwritten
// with the same values and the append script skips seqs it already has.
util::Result<void> Writer::hold(std::vector<Pending>& group, util::Error error) {
  const auto start = std::chrono::steady_clock::now();
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

// Sends the script calls, reads their replies, loads the script again and resends once when
// the server lost it (restart, SCRIPT FLUSH; an append is idempotent: stale seqs are skipped).
util::Result<void> Writer::run_appends(std::vector<std::vector<std::string>>& calls, std::vector<std::uint64_t>& streams) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (auto& call : calls) {
      call[1] = m_append_sha;
      m_conn->append(std::vector<std::string_view>(call.begin(), call.end()));
    }
    bool lost_script = false;
    util::Result<void> first_error = util::ok();
    for (std::size_t i = 0; i < calls.size(); ++i) {
      auto r = m_conn->reply();
      if (!r) return std::move(r).error();
      if (text(r->get()).rfind("NOSCRIPT", 0) == 0) {
        lost_script = true;
      } else if (auto ok = check(r->get(), m_options.address.display()); !ok) {
        if (ok.error().code == Errc::store_locked) {
          // Another writer took this stream over: nothing of it was written; the group's
          // other streams were (CommitInfo::fenced).
          m_cache.erase(streams[i]);
          m_fenced.push_back(streams[i]);
          util::log(util::LogLevel::warn, "store_stream_fenced",
                    {{"stream", streams[i]}, {"owner", text(r->get()).substr(7)}});
          continue;
        }
        if (first_error) first_error = ok;
      } else {
        note_append_reply(streams[i], r->get());
      }
    }
    if (!first_error) return first_error;
    if (!lost_script) return util::ok();
    m_append_sha.clear();
    if (auto c = connect(); !c) return c;
  }
  return util::fail(Errc::store_unavailable, "redis " + m_options.address.display() + ": the append script keeps vanishing");
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

void Writer::note_append_reply(std::uint64_t stream, const redisReply* r) {
  AppendResult got;
  if (!decode_append_reply(r, got)) return;
  auto it = m_cache.find(stream);
  if (it != m_cache.end()) {
    it->second.rec.retained = got.retained;
    it->second.last_seq = got.last_seq;
  }
  std::lock_guard lk(m_mutex);
  m_metrics.events_written += got.written;
  m_metrics.events_evicted += got.evicted_now;
}

std::vector<std::string> Writer::append_call(std::uint64_t n, std::string record,
                                             const std::vector<const EventRecord*>& events) const {
  // A call with neither record nor events is a trim (the age pass), which any writer may do.
  const bool trim_only = record.empty() && events.empty();
  return append_args(m_append_sha, m_keys, n, m_clock.wall_ms(), m_options.retention, std::move(record),
                     trim_only ? std::string() : token(), events);
}

util::Result<void> Writer::commit_group(std::vector<Pending>& group) {
  const std::string where = m_options.address.display();
  m_fenced.clear();
  if (auto c = connect(); !c) return c;
  std::vector<std::uint64_t> wanted;
  for (const Pending& p : group) {
    for (const EventRecord& e : p.batch.events) wanted.push_back(e.stream);
    for (const StreamRecord& s : p.batch.streams) wanted.push_back(s.stream);
  }
  if (auto r = load(wanted); !r) return r;

  // The rules of every SessionStore, in MemoryStore's order: sessions, events, stream records.
  std::vector<const SessionRecord*> sessions;
  std::map<std::uint64_t, std::vector<const EventRecord*>> touched;
  for (const Pending& p : group) {
    for (const SessionRecord& s : p.batch.sessions) sessions.push_back(&s);
    for (const EventRecord& e : p.batch.events) {
      Cached& c = m_cache.at(e.stream);
      if (e.seq <= c.last_seq) {
        util::log(util::LogLevel::warn, "store_stale_write", {{"stream", e.stream}, {"seq", e.seq}, {"newest_seq", c.last_seq}});
        continue;
      }
      c.exists = true;
      advance(c.rec, e);
      c.last_seq = e.seq;
      touched[e.stream].push_back(&e);
    }
    for (const StreamRecord& s : p.batch.streams) {
      Cached& c = m_cache.at(s.stream);
      if (c.exists && s.next_seq < c.rec.next_seq) {
        util::log(util::LogLevel::warn, "store_stale_write",
                  {{"stream", s.stream}, {"next_seq", s.next_seq}, {"stored_next_seq", c.rec.next_seq}});
        continue;
      }
      upsert(c.rec, s, c.exists);
      c.exists = true;
      touched[s.stream];
    }
  }

  // One pipeline: sessions, index entries, the counter, the meta stamp, then the appends.
  std::size_t plain = 0;
  std::string blob;
  for (const SessionRecord* s : sessions) {
    codec::encode_session(*s, blob);
    m_conn->append({"SET", m_keys.session(s->id), blob});
    m_conn->append({"ZADD", m_keys.sessions(), "0", s->id});
    plain += 2;
  }
  std::uint64_t max_stream = 0;
  for (auto& [n, events] : touched) {
    Cached& c = m_cache.at(n);
    const std::string num = std::to_string(n);
    if (!c.indexed) {
      m_conn->append({"ZADD", m_keys.streams(), num, num});
      ++plain;
      c.indexed = true;
    }
    if (c.rec.session != c.indexed_session) {
      if (!c.indexed_session.empty()) m_conn->append({"ZREM", m_keys.session_streams(c.indexed_session), num});
      if (!c.rec.session.empty()) m_conn->append({"ZADD", m_keys.session_streams(c.rec.session), num, num});
      plain += (c.indexed_session.empty() ? 0 : 1) + (c.rec.session.empty() ? 0 : 1);
      c.indexed_session = c.rec.session;
    }
    max_stream = std::max(max_stream, n);
  }
  if (max_stream > m_raised_to) {
    m_conn->append({"EVAL", k_raise_script, "1", m_keys.next_stream(), std::to_string(max_stream)});
    ++plain;
    m_raise_next_stream(max_stream);
  }
  const std::int64_t now_ms = m_clock.wall_ms();
  if (m_last_commit_written_ms == 0 || now_ms - m_last_commit_written_ms >= 1000 || now_ms < m_last_commit_written_ms) {
    m_conn->append({"HSET", m_keys.meta(), "last_commit_ms", std::to_string(now_ms)});
    ++plain;
  }
  util::Result<void> first_error = util::ok();
  for (std::size_t i = 0; i < plain; ++i) {
    auto r = m_conn->reply();
    if (!r) return std::move(r).error();
    if (auto ok = check(r->get(), where); !ok && first_error) first_error = ok;
  }
  if (!first_error) return first_error;
  m_raised_to = std::max(m_raised_to, max_stream);
  m_last_commit_written_ms = now_ms;

  std::vector<std::vector<std::string>> calls;
  std::vector<std::uint64_t> streams;
  for (auto& [n, events] : touched) {
    codec::encode_stream(m_cache.at(n).rec, blob);
    calls.push_back(append_call(n, blob, events));
    streams.push_back(n);
  }
  if (auto r = run_appends(calls, streams); !r) return r;
  if (m_cache.size() > k_cache_max) forget();
  if (m_options.replicas > 0) return wait_for_replicas();
  return util::ok();
}

util::Result<void> Writer::maintenance(std::int64_t now_ms) {
  const Retention& r = m_options.retention;
  if (r.idle_ttl_ms <= 0 && r.max_age_ms <= 0) return util::ok();
  if (auto c = connect(); !c) return c;
  const std::string where = m_options.address.display();
  const std::string window = std::to_string(k_window);

  // Closed or expired sessions idle past idle_ttl go with all their streams.
  std::vector<std::string> doomed;
  std::vector<std::uint64_t> gone;  // streams to delete
  if (r.idle_ttl_ms > 0) {
    const std::string from = m_session_cursor.empty() ? std::string("-") : exclusive(m_session_cursor);
    auto ids = m_conn->command({"ZRANGEBYLEX", m_keys.sessions(), from, "+", "LIMIT", "0", window});
    if (!ids) return std::move(ids).error();
    if (auto ok = check(ids->get(), where); !ok) return ok;
    const std::size_t n = elements(ids->get());
    m_session_cursor = n < k_window ? std::string() : std::string(text(element(ids->get(), n - 1)));
    for (std::size_t i = 0; i < n; ++i) m_conn->append({"GET", m_keys.session(text(element(ids->get(), i)))});
    for (std::size_t i = 0; i < n; ++i) {
      auto v = m_conn->reply();
      if (!v) return std::move(v).error();
      SessionRecord s;
      if (is_nil(v->get()) || !codec::decode_session(text(v->get()), s)) continue;
      if (s.state != SessionState::open && idle_past(s.last_active_ms, r.idle_ttl_ms, now_ms)) doomed.push_back(s.id);
    }
    for (const std::string& id : doomed) m_conn->append({"ZRANGE", m_keys.session_streams(id), "0", "-1"});
    for (std::size_t i = 0; i < doomed.size(); ++i) {
      auto v = m_conn->reply();
      if (!v) return std::move(v).error();
      for (std::size_t j = 0; j < elements(v->get()); ++j) gone.push_back(static_cast<std::uint64_t>(integer(element(v->get(), j))));
    }
  }

  // A window of streams: finished and idle ones go, the others lose events past max_age.
  const std::string from = exclusive(std::to_string(m_stream_cursor));
  auto nums = m_conn->command({"ZRANGEBYSCORE", m_keys.streams(), from, "+inf", "LIMIT", "0", window});
  if (!nums) return std::move(nums).error();
  if (auto ok = check(nums->get(), where); !ok) return ok;
  std::vector<std::uint64_t> visit;
  for (std::size_t j = 0; j < elements(nums->get()); ++j) visit.push_back(static_cast<std::uint64_t>(integer(element(nums->get(), j))));
  m_stream_cursor = visit.size() < k_window ? 0 : visit.back();
  std::vector<std::uint64_t> all = visit;
  all.insert(all.end(), gone.begin(), gone.end());
  if (auto l = load(all); !l) return l;
  std::vector<std::vector<std::string>> trims;
  std::vector<std::uint64_t> trimmed;
  for (std::uint64_t n : visit) {
    const Cached& c = m_cache.at(n);
    if (!c.exists || std::find(gone.begin(), gone.end(), n) != gone.end()) continue;
    if (finished(c.rec.state) && idle_past(c.rec.last_active_ms, r.idle_ttl_ms, now_ms)) {
      gone.push_back(n);
    } else if (r.max_age_ms > 0 && c.rec.retained.events > 0) {
      trims.push_back(append_call(n, std::string(), {}));
      trimmed.push_back(n);
    }
  }
  std::size_t plain = 0;
  std::uint64_t evicted = 0;
  for (std::uint64_t n : gone) {
    auto it = m_cache.find(n);
    const std::string num = std::to_string(n);
    m_conn->append({"DEL", m_keys.stream(n), m_keys.events(n)});
    m_conn->append({"ZREM", m_keys.streams(), num});
    plain += 2;
    if (it != m_cache.end()) {
      evicted += it->second.rec.retained.events;
      if (!it->second.indexed_session.empty()) {
        m_conn->append({"ZREM", m_keys.session_streams(it->second.indexed_session), num});
        ++plain;
      }
      m_cache.erase(it);
    }
  }
  for (const std::string& id : doomed) {
    m_conn->append({"DEL", m_keys.session(id), m_keys.session_streams(id)});
    m_conn->append({"ZREM", m_keys.sessions(), id});
    plain += 2;
  }
  util::Result<void> first_error = util::ok();  // every reply is read first (see read_streams)
  for (std::size_t i = 0; i < plain; ++i) {
    auto v = m_conn->reply();
    if (!v) return std::move(v).error();
    if (auto ok = check(v->get(), where); !ok && first_error) first_error = std::move(ok);
  }
  if (!first_error) return first_error;
  {
    std::lock_guard lk(m_mutex);
    m_metrics.events_evicted += evicted;
  }
  if (!trims.empty()) return run_appends(trims, trimmed);
  return util::ok();
}

}  // namespace ssestitch::store::redis
