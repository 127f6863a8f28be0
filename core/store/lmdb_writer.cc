#include "core/store/lmdb_writer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/store/batch_check.h"
#include "core/util/log.h"

namespace ssestitch::store::lmdb {
namespace {

using util::Errc;
using SteadyClock = std::chrono::steady_clock;

constexpr std::int64_t k_maintenance_interval_ns = 1'000'000'000;
constexpr std::size_t k_max_notices = 8;  // stale-write log lines per transaction

void record_latency(StoreMetrics& m, std::int64_t ns) {
  const double s = static_cast<double>(ns) / 1e9;
  int i = 0;
  while (i < StoreMetrics::k_latency_buckets - 1 && s > StoreMetrics::k_bucket_bounds_s[i]) ++i;
  ++m.commit_latency_buckets[i];
  m.commit_latency_sum_s += s;
}

void raise_to(std::atomic<std::uint64_t>& a, std::uint64_t v) noexcept {
  std::uint64_t cur = a.load();
  while (cur < v && !a.compare_exchange_weak(cur, v)) {
  }
}

}  // namespace

Writer::Writer(Env& env, const LmdbOptions& options, std::atomic<std::uint64_t>& next_stream)
    : m_env(env),
      m_options(options),
      m_clock(options.clock ? *options.clock : util::system_clock()),
      m_next_stream(next_stream) {
  const std::uint64_t page = env.page_size();
  m_store_max = std::max<std::uint64_t>(options.retention.store_max_bytes, 1u << 20) / page * page;
}

util::Result<std::unique_ptr<Writer>> Writer::start(Env& env, const LmdbOptions& options,
                                                    std::atomic<std::uint64_t>& next_stream) {
  std::unique_ptr<Writer> w(new Writer(env, options, next_stream));
  if (auto r = w->load(); !r) return std::move(r).error();
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
}

util::Result<void> Writer::load() {
  auto rt = m_env.begin_read();
  if (!rt) return std::move(rt).error();
  const Dbis& dbi = m_env.dbi();
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(rt->get(), dbi.streams, &raw);
  if (rc != 0) return util::fail(errc_for(rc, Errc::io_error), message("mdb_cursor_open", m_env.dir(), rc));
  CursorPtr streams(raw);
  rc = mdb_cursor_open(rt->get(), dbi.events, &raw);
  if (rc != 0) return util::fail(errc_for(rc, Errc::io_error), message("mdb_cursor_open", m_env.dir(), rc));
  CursorPtr events(raw);

  MDB_val k{}, v{};
  for (rc = mdb_cursor_get(streams.get(), &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(streams.get(), &k, &v, MDB_NEXT)) {
    std::uint64_t stream = 0;
    StreamEntry e;
    if (!codec::decode_stream_key(view(k), stream) || !codec::decode_stream(view(v), e.rec) ||
        e.rec.stream != stream) {
      return util::fail(Errc::store_corrupt, m_env.dir() + ": stream record " + std::to_string(stream) +
                                                 " fails to decode");
    }
    // The newest stored event of the stream: the key before (stream + 1, 0).
    const codec::EventKey probe = codec::event_key(stream + 1, 0);
    MDB_val ek = val(probe.data(), probe.size());
    MDB_val ev{};
    int erc = stream == UINT64_MAX ? MDB_NOTFOUND : mdb_cursor_get(events.get(), &ek, &ev, MDB_SET_RANGE);
    erc = erc == 0 ? mdb_cursor_get(events.get(), &ek, &ev, MDB_PREV)
                   : mdb_cursor_get(events.get(), &ek, &ev, MDB_LAST);
    std::uint64_t es = 0, seq = 0;
    if (erc == 0 && codec::decode_event_key(view(ek), es, seq) && es == stream) e.last_seq = seq;
    // With every event evicted, next_seq - 1 is the best bound (the writer keeps next_seq past
    // every seq it stored).
    if (e.last_seq == 0 && e.rec.retained.evicted > 0 && e.rec.next_seq > 0) e.last_seq = e.rec.next_seq - 1;
    if (e.rec.retained.events > 0) m_lru.emplace(e.rec.last_active_ms, stream);
    m_streams.emplace(stream, std::move(e));
  }
  if (rc != MDB_NOTFOUND) return util::fail(errc_for(rc, Errc::io_error), message("mdb_cursor_get", m_env.dir(), rc));
  m_next_maintenance_ns = m_clock.mono_ns() + k_maintenance_interval_ns;
  return util::ok();
}

util::Result<void> Writer::submit(Batch batch, CommitCallback done) {
  if (auto r = check_batch(batch); !r) return r;
  const std::size_t bytes = batch.bytes();
  {
    std::lock_guard lk(m_mutex);
    if (m_stopping) return util::fail(Errc::store_closed, m_env.dir() + ": the store is closing");
    // An empty queue takes any batch, so a batch larger than the bound is not refused forever.
    if (m_queued_bytes != 0 && m_queued_bytes + bytes > m_options.queue_max_bytes) {
      std::lock_guard ml(m_metrics_mutex);
      ++m_metrics.queue_full;
      return util::fail(Errc::store_queue_full,
                        m_env.dir() + ": the writer queue holds " + std::to_string(m_queued_bytes) +
                            " bytes (queue_max_bytes " + std::to_string(m_options.queue_max_bytes) + ")");
    }
    m_queued_bytes += bytes;
    m_queue.push_back(Pending{std::move(batch), std::move(done), bytes, m_next_ticket++});
  }
  m_wake.notify_one();
  return util::ok();
}

bool Writer::try_commit_inline(Batch& batch, CommitCallback& done) {
  if (!m_options.inline_commits || m_options.sync == SyncMode::always) return false;
  std::unique_lock txn(m_txn_mutex, std::try_to_lock);
  if (!txn.owns_lock()) return false;
  if (!check_batch(batch)) return false;  // submit() reports the error
  std::uint64_t ticket = 0;
  {
    std::lock_guard lk(m_mutex);
    // Queued batches go first: committing this one now would overtake them.
    if (m_stopping || !m_queue.empty()) return false;
    ticket = m_next_ticket++;
  }
  std::vector<Pending>& group = m_inline_group;
  group.clear();
  group.push_back(Pending{std::move(batch), std::move(done), 0, ticket});
  bool committed = false;
  try {
    committed = process_group(group);
  } catch (const std::exception& e) {
    util::log(util::LogLevel::error, "store_writer_exception", {{"error", e.what()}});
    rollback();
    const util::Error err{Errc::internal, std::string("store writer: ") + e.what()};
    fail_metrics(err);
    if (group.front().done) group.front().done(err);
  }
  group.clear();
  txn.unlock();
  bool wake = false;
  bool waiters = false;
  {
    std::lock_guard lk(m_mutex);
    m_done_ticket = std::max(m_done_ticket, ticket);
    if (committed) {
      // The first commit since the last sync must wake the writer for the --sync-interval fsync.
      wake = m_options.sync == SyncMode::batch && m_commit_gen == m_synced_gen;
      ++m_commit_gen;
    }
    if (m_commit_gen == m_synced_gen) m_synced_ticket = m_done_ticket;
    waiters = m_progress_waiters > 0;
  }
  if (wake) m_wake.notify_one();
  if (waiters) m_progress.notify_all();
  return true;
}

util::Result<void> Writer::flush() {
  std::unique_lock lk(m_mutex);
  const std::uint64_t target = m_next_ticket - 1;
  const bool need_sync = m_options.sync != SyncMode::none;
  if (m_options.sync == SyncMode::batch) {
    m_sync_requested = true;
    m_wake.notify_one();
  }
  ++m_progress_waiters;
  m_progress.wait(lk, [&] { return m_done_ticket >= target && (!need_sync || m_synced_ticket >= target); });
  --m_progress_waiters;
  if (m_sync_failed) return m_sync_error;
  return util::ok();
}

StoreMetrics Writer::metrics() const {
  std::lock_guard lk(m_metrics_mutex);
  return m_metrics;
}

void Writer::run() noexcept {
  std::vector<Pending> group;
  auto last_sync = SteadyClock::now();
  const auto interval = std::chrono::milliseconds(std::max<std::int64_t>(m_options.sync_interval_ms, 1));
  for (;;) {
    bool stopping = false;
    bool sync_requested = false;
    {
      std::unique_lock lk(m_mutex);
      // Wake at least once a second for maintenance, and in time for the batch-mode sync.
      auto deadline = SteadyClock::now() + std::chrono::seconds(1);
      if (m_options.sync == SyncMode::batch && m_commit_gen != m_synced_gen) {
        deadline = std::min(deadline, last_sync + interval);
      }
      m_wake.wait_until(lk, deadline, [&] { return !m_queue.empty() || m_stopping || m_sync_requested; });
    }
    std::size_t group_bytes = 0;
    std::uint64_t last_ticket = 0;
    bool committed = false;
    {
      // m_txn_mutex before the group leaves the queue: an inline commit checks for an empty
      // queue under m_txn_mutex, and must not see one while a group taken from it is still
      // uncommitted (it would overtake it, and a client catching up from the log would skip
      // the group's events as a hole that is filled only later).
      std::lock_guard txn(m_txn_mutex);
      {
        std::lock_guard lk(m_mutex);
        group.swap(m_queue);
        stopping = m_stopping;
        sync_requested = m_sync_requested;
        m_sync_requested = false;
      }
      for (const Pending& p : group) group_bytes += p.bytes;
      if (!group.empty()) last_ticket = group.back().ticket;
      try {
        if (!group.empty()) {
          committed = process_group(group);
        } else if (m_clock.mono_ns() >= m_next_maintenance_ns || !m_doomed_streams.empty() ||
                   !m_doomed_sessions.empty()) {
          Txn ts;
          const int rc = run_txn({}, Work::maintenance, ts);
          if (rc == 0) {
            committed = ts.committed;
          } else if (rc == MDB_MAP_FULL) {
            grow_map(true);
          } else {
            util::log(util::LogLevel::error, "store_maintenance_failed",
                      {{"error", message(ts.failed_call, m_env.dir(), rc)}});
          }
        }
      } catch (const std::exception& e) {
        // Out of memory while building a transaction: fail what was in hand, keep the thread.
        util::log(util::LogLevel::error, "store_writer_exception", {{"error", e.what()}});
        rollback();
        const util::Error err{Errc::internal, std::string("store writer: ") + e.what()};
        fail_metrics(err);
        for (Pending& p : group) {
          if (!p.done) continue;
          try {
            p.done(err);
          } catch (...) {
          }
          p.done = nullptr;
        }
      }
    }

    // What the sync (if any) will cover: every commit counted so far, by this thread or inline.
    std::uint64_t gen_before = 0;
    std::uint64_t done_before = 0;
    bool dirty = false;
    {
      std::lock_guard lk(m_mutex);
      if (committed) ++m_commit_gen;
      if (last_ticket != 0) m_done_ticket = std::max(m_done_ticket, last_ticket);
      gen_before = m_commit_gen;
      done_before = m_done_ticket;
      dirty = m_commit_gen != m_synced_gen;
    }
    const auto now = SteadyClock::now();
    const bool want_sync =
        dirty && ((m_options.sync == SyncMode::batch && (sync_requested || stopping || now - last_sync >= interval)) ||
                  (m_options.sync == SyncMode::none && stopping));
    bool sync_failed = false;
    util::Error sync_error;
    if (want_sync) {
      // Outside m_txn_mutex: inline commits go on while the disk catches up.
      std::shared_lock gate(m_env.gate());
      const int rc = mdb_env_sync(m_env.get(), 1);
      if (rc != 0) {
        sync_failed = true;
        sync_error = util::Error{errc_for(rc, Errc::io_error), message("mdb_env_sync", m_env.dir(), rc)};
        util::log(util::LogLevel::error, "store_sync_failed", {{"error", sync_error.message}});
      }
      // The interval runs from the end of this sync: a sync that outlasts it (the disk behind a
      // burst of commits) must not be followed at once by another. Back to back, they would keep
      // write-protecting the pages that commits write, and each commit would fault on each page
      // (the likely cause of benchmark rounds with 74,000 faults and 4.4 s of CPU in 5 s at 5,000
      // events/s, seen after a burst of 200,000 events).
      last_sync = SteadyClock::now();
    }
    bool exit = false;
    {
      std::lock_guard lk(m_mutex);
      m_queued_bytes -= group_bytes;
      if (want_sync) {
        m_sync_failed = sync_failed;
        m_sync_error = sync_error;
        m_synced_gen = std::max(m_synced_gen, gen_before);
        m_synced_ticket = std::max(m_synced_ticket, done_before);
      }
      if (m_options.sync == SyncMode::always || m_commit_gen == m_synced_gen) m_synced_ticket = m_done_ticket;
      exit = m_stopping && m_queue.empty() &&
             (m_commit_gen == m_synced_gen || m_options.sync == SyncMode::always);
    }
    m_progress.notify_all();
    group.clear();
    if (exit) break;
  }
}

bool Writer::process_group(std::vector<Pending>& group) {
  std::vector<Pending*>& all = m_group_ptrs;
  all.clear();
  for (Pending& p : group) all.push_back(&p);
  bool committed = false;
  auto deliver = [](Pending& p, const util::Result<CommitInfo>& r) {
    if (!p.done) return;
    try {
      p.done(r);
    } catch (...) {
      // A callback's exception must not end the writer thread; the caller's bug stays theirs.
      util::log(util::LogLevel::error, "store_callback_threw");
    }
    p.done = nullptr;
  };
  auto r = commit_batches(all);
  if (!r && r.error().code == Errc::store_full && all.size() > 1) {
    // The group as a whole does not fit: commit batch by batch so that those that fit succeed.
    for (Pending* p : all) {
      auto one = commit_batches(std::span<Pending*>(&p, 1));
      committed |= one.has_value();
      deliver(*p, one);
    }
    return committed;
  }
  for (Pending* p : all) deliver(*p, r);
  return r.has_value();
}

util::Result<CommitInfo> Writer::commit_batches(std::span<Pending*> batches) {
  bool evicted = false;
  int resized = 0;
  // Grow before a large group rather than after it failed half-way: a transaction that meets
  // MDB_MAP_FULL is aborted and redone in full. Twice the payload allows for keys, headers and
  // partly filled branch pages. The map also grows ahead of need, once it is 75% used, so a
  // large group rarely meets MDB_MAP_FULL half-way. Checked here, before the transaction, and
  // not after a commit: there it would delay the callbacks, which forward events to clients.
  std::uint64_t need = 0;
  for (const Pending* p : batches) need += p->bytes;
  for (;;) {
    MDB_envinfo info{};
    mdb_env_info(m_env.get(), &info);
    const std::uint64_t used = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * m_env.page_size();
    const bool roomy = used + 2 * need <= info.me_mapsize && used * 4 <= info.me_mapsize * 3;
    if (roomy || !grow_map(false)) break;
  }
  for (;;) {
    Txn ts;
    const std::int64_t t0 = SteadyClock::now().time_since_epoch().count();
    const int rc = run_txn(batches, Work::batches, ts);
    const std::int64_t ns = SteadyClock::now().time_since_epoch().count() - t0;
    if (rc == 0) {
      {
        std::lock_guard lk(m_metrics_mutex);
        ++m_metrics.commits;
        record_latency(m_metrics, ns);
        m_metrics.degraded = false;
      }
      return CommitInfo{ns};
    }
    if (rc == MDB_MAP_FULL) {
      if (grow_map(true)) continue;
      if (!evicted) {
        evicted = true;
        Txn es;
        if (run_txn({}, Work::evict, es) == 0 && es.events_evicted > 0) {
          Txn as;
          run_txn({}, Work::advance, as);
          continue;
        }
      }
      const util::Error err{Errc::store_full,
                            message(ts.failed_call, m_env.dir(), rc) + " (the store is at its limit of " +
                                std::to_string(m_store_max) + " bytes and eviction freed too little)"};
      fail_metrics(err);
      return err;
    }
    if (rc == MDB_MAP_RESIZED && resized++ < 3) {
      m_env.resize(0);
      continue;
    }
    const util::Error err{errc_for(rc, Errc::io_error), message(ts.failed_call, m_env.dir(), rc)};
    fail_metrics(err);
    return err;
  }
}

void Writer::fail_metrics(const util::Error& e) {
  util::log(util::LogLevel::error, "store_commit_failed",
            {{"code", util::to_string(e.code)}, {"error", e.message}});
  std::lock_guard lk(m_metrics_mutex);
  ++m_metrics.write_errors;
  m_metrics.degraded = true;
  m_metrics.last_error = e.message;
}

int Writer::run_txn(std::span<Pending*> batches, Work work, Txn& ts) {
  std::shared_lock gate(m_env.gate());
  const Dbis& dbi = m_env.dbi();
  ts.now_ms = m_clock.wall_ms();
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(m_env.get(), nullptr, 0, &raw);
  if (rc != 0) {
    ts.failed_call = "mdb_txn_begin";
    return rc;
  }
  TxnPtr txn(raw);
  MDB_cursor* craw = nullptr;
  rc = mdb_cursor_open(raw, dbi.events, &craw);
  if (rc != 0) {
    ts.failed_call = "mdb_cursor_open";
    return rc;
  }
  CursorPtr cursor(craw);
  ts.txn = raw;
  ts.events = craw;
  m_undo.clear();

  if (!m_tail_read) {
    MDB_val k{}, v{};
    rc = mdb_cursor_get(craw, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == codec::k_event_key_size) {
      m_tail.emplace();
      std::memcpy(m_tail->data(), k.mv_data, codec::k_event_key_size);
    }
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    if (rc != 0) ts.failed_call = "mdb_cursor_get";
    m_tail_read = rc == 0;
  }
  ts.has_tail = m_tail.has_value();
  if (ts.has_tail) ts.tail = *m_tail;

  const bool maintenance_due = m_clock.mono_ns() >= m_next_maintenance_ns;
  bool changed = work == Work::batches || work == Work::advance;
  if (rc == 0 && work == Work::batches) {
    for (Pending* p : batches) {
      if ((rc = apply(ts, p->batch)) != 0) break;
    }
    if (rc == 0) rc = trim_touched(ts);
  }
  if (rc == 0) {
    if (work == Work::evict) {
      rc = evict_for_store(ts, true);
    } else if (work != Work::advance) {
      if (maintenance_due) rc = maintenance_step(ts);
      if (rc == 0) rc = delete_doomed(ts);
      if (rc == 0) rc = evict_for_store(ts, false);
    }
  }
  changed = changed || !ts.dirty.empty() || ts.events_evicted > 0 || !ts.finished_sessions.empty() ||
            !ts.finished_streams.empty();
  if (rc == 0 && changed) rc = write_dirty(ts);
  // last_commit_ms is rewritten once a second at most (and by every advance): at thousands of
  // commits a second, rewriting it each time copied and freed a meta page per commit.
  const bool stamp = work == Work::advance || ts.now_ms >= m_stamped_ms + 1000 || ts.now_ms < m_stamped_ms;
  if (rc == 0 && changed && stamp) {
    char ms[8];
    codec::put_u64_be(ms, static_cast<std::uint64_t>(ts.now_ms));
    MDB_val mk = val(std::string_view("last_commit_ms"));
    MDB_val mv = val(ms, sizeof ms);
    rc = mdb_put(raw, dbi.meta, &mk, &mv, 0);
    if (rc != 0) ts.failed_call = "mdb_put";
  }
  cursor.reset();  // cursors close before their transaction ends
  ts.events = nullptr;
  if (rc != 0 || !changed) {
    txn.reset();
    rollback();
    if (rc == 0 && maintenance_due) m_next_maintenance_ns = m_clock.mono_ns() + k_maintenance_interval_ns;
    return rc;
  }
  rc = commit(txn);
  ts.txn = nullptr;
  if (rc != 0) {
    ts.failed_call = "mdb_txn_commit";
    rollback();
    return rc;
  }
  if (maintenance_due) m_next_maintenance_ns = m_clock.mono_ns() + k_maintenance_interval_ns;
  ts.committed = true;
  if (ts.has_tail) m_tail = ts.tail;
  if (stamp) m_stamped_ms = ts.now_ms;
  settle(ts);
  return 0;
}

int Writer::apply(Txn& ts, const Batch& batch) {
  const Dbis& dbi = m_env.dbi();
  for (const SessionRecord& s : batch.sessions) {
    codec::encode_session(s, m_scratch);
    MDB_val k = val(s.id);
    MDB_val v = val(m_scratch);
    if (const int rc = mdb_put(ts.txn, dbi.sessions, &k, &v, 0); rc != 0) {
      ts.failed_call = "mdb_put";
      return rc;
    }
  }
  for (const EventRecord& e : batch.events) {
    if (const int rc = put_event(ts, e); rc != 0) return rc;
  }
  for (const StreamRecord& s : batch.streams) {
    if (const int rc = put_stream(ts, s); rc != 0) return rc;
  }
  return 0;
}

int Writer::put_event(Txn& ts, const EventRecord& ev) {
  StreamEntry* cur = find(ev.stream);
  const std::uint64_t last = cur ? cur->last_seq : 0;
  auto stale = [&](const char* why) {
    if (++ts.stale <= k_max_notices) {
      ts.notices.push_back("event " + std::to_string(ev.stream) + "-" + std::to_string(ev.seq) + ": " + why +
                           " (newest stored seq " + std::to_string(last) + ")");
    }
    return 0;
  };
  if (ev.seq <= last) return stale("seq not beyond the stream's newest event");

  const codec::EventKey key = codec::event_key(ev.stream, ev.seq);
  MDB_val k = val(key.data(), key.size());
  MDB_val v{codec::event_value_size(ev), nullptr};
  // MDB_APPEND skips the tree search and fills pages completely, but is only valid for a key
  // beyond the last one; LMDB would answer MDB_KEYEXIST otherwise.
  const bool append = !ts.has_tail || std::memcmp(key.data(), ts.tail.data(), key.size()) > 0;
  const int rc = mdb_cursor_put(ts.events, &k, &v, MDB_RESERVE | (append ? MDB_APPEND : MDB_NOOVERWRITE));
  if (rc == MDB_KEYEXIST) return stale("already stored");
  if (rc != 0) {
    ts.failed_call = "mdb_cursor_put";
    return rc;
  }
  codec::write_event_value(ev, static_cast<char*>(v.mv_data));
  if (append) {
    ts.tail = key;
    ts.has_tail = true;
  }

  StreamEntry& e = touch_or_create(ts, ev.stream);
  advance(e.rec, ev);
  e.last_seq = ev.seq;
  mark_dirty(ts, e);
  ++ts.events_written;
  return 0;
}

int Writer::put_stream(Txn& ts, const StreamRecord& rec) {
  StreamEntry* cur = find(rec.stream);
  if (cur && rec.next_seq < cur->rec.next_seq) {
    if (++ts.stale <= k_max_notices) {
      ts.notices.push_back("stream " + std::to_string(rec.stream) + ": next_seq " + std::to_string(rec.next_seq) +
                           " is below the stored " + std::to_string(cur->rec.next_seq) + "; record skipped");
    }
    return 0;
  }
  const bool existed = cur != nullptr;
  const bool moved = existed && cur->rec.session != rec.session;
  const MDB_dbi index = m_env.dbi().session_streams;
  if (moved && !cur->rec.session.empty()) {
    codec::session_stream_key(cur->rec.session, rec.stream, m_scratch);
    MDB_val k = val(m_scratch);
    const int rc = mdb_del(ts.txn, index, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      ts.failed_call = "mdb_del";
      return rc;
    }
  }
  StreamEntry& e = touch_or_create(ts, rec.stream);
  const Retained kept = e.rec.retained;
  const std::int64_t last_active = existed ? std::max(e.rec.last_active_ms, rec.last_active_ms) : rec.last_active_ms;
  e.rec = rec;
  e.rec.retained = kept;
  e.rec.last_active_ms = last_active;
  mark_dirty(ts, e);

  if (!rec.session.empty() && (!existed || moved)) {
    codec::session_stream_key(rec.session, rec.stream, m_scratch);
    MDB_val k = val(m_scratch);
    MDB_val v{0, nullptr};
    if (const int rc = mdb_put(ts.txn, index, &k, &v, 0); rc != 0) {
      ts.failed_call = "mdb_put";
      return rc;
    }
  }
  return 0;
}

int Writer::write_dirty(Txn& ts) {
  const MDB_dbi streams = m_env.dbi().streams;
  for (const std::uint64_t s : ts.dirty) {
    StreamEntry* e = find(s);
    if (!e || !e->dirty) continue;
    codec::encode_stream(e->rec, m_scratch);
    const codec::StreamKey key = codec::stream_key(s);
    MDB_val k = val(key.data(), key.size());
    MDB_val v = val(m_scratch);
    if (const int rc = mdb_put(ts.txn, streams, &k, &v, 0); rc != 0) {
      ts.failed_call = "mdb_put";
      return rc;
    }
  }
  return 0;
}

Writer::StreamEntry* Writer::find(std::uint64_t stream) {
  auto it = m_streams.find(stream);
  return it == m_streams.end() ? nullptr : &it->second;
}

Writer::StreamEntry& Writer::touch(Txn&, std::uint64_t stream) {
  auto it = m_streams.find(stream);
  if (!m_undo.contains(stream)) m_undo.emplace(stream, it->second);
  return it->second;
}

Writer::StreamEntry& Writer::touch_or_create(Txn& ts, std::uint64_t stream) {
  auto it = m_streams.find(stream);
  if (it != m_streams.end()) return touch(ts, stream);
  if (!m_undo.contains(stream)) m_undo.emplace(stream, std::nullopt);
  // Events for a stream without a record create a minimal one (documented in lmdb_store.h).
  StreamEntry& e = m_streams[stream];
  e.rec.stream = stream;
  raise_to(m_next_stream, stream + 1);
  return e;
}

void Writer::erase(Txn& ts, std::uint64_t stream) {
  auto it = m_streams.find(stream);
  if (it == m_streams.end()) return;
  touch(ts, stream);
  m_streams.erase(it);
}

void Writer::mark_dirty(Txn& ts, StreamEntry& e) {
  if (e.dirty) return;
  e.dirty = true;
  ts.dirty.push_back(e.rec.stream);
}

void Writer::rollback() noexcept {
  for (auto& [stream, original] : m_undo) {
    if (original) {
      m_streams[stream] = std::move(*original);
    } else {
      m_streams.erase(stream);
    }
  }
  m_undo.clear();
}

void Writer::settle(Txn& ts) {
  for (auto& [stream, original] : m_undo) {
    // The stream's LRU entry is re-keyed in its node (extract, insert): no allocation.
    decltype(m_lru)::node_type node;
    if (original && original->rec.retained.events > 0) node = m_lru.extract({original->rec.last_active_ms, stream});
    auto it = m_streams.find(stream);
    if (it == m_streams.end()) continue;
    it->second.dirty = false;
    if (it->second.rec.retained.events == 0) continue;
    if (node) {
      node.value() = {it->second.rec.last_active_ms, stream};
      m_lru.insert(std::move(node));
    } else {
      m_lru.emplace(it->second.rec.last_active_ms, stream);
    }
  }
  m_undo.clear();
  for (const std::uint64_t s : ts.finished_streams) m_doomed_streams.erase(s);
  for (const std::string& s : ts.finished_sessions) m_doomed_sessions.erase(s);
  for (const std::string& n : ts.notices) util::log(util::LogLevel::warn, "store_stale_write", {{"detail", n}});
  if (ts.stale > ts.notices.size()) {
    util::log(util::LogLevel::warn, "store_stale_write", {{"more", ts.stale - ts.notices.size()}});
  }
  if (ts.events_written != 0 || ts.events_evicted != 0) {
    std::lock_guard lk(m_metrics_mutex);
    m_metrics.events_written += ts.events_written;
    m_metrics.events_evicted += ts.events_evicted;
  }
}

bool Writer::grow_map(bool after_map_full) {
  const std::uint64_t cur = m_env.map_bytes();
  if (cur >= m_store_max) return false;
  const std::uint64_t next = std::min(cur * 2, m_store_max);
  if (const int rc = m_env.resize(next); rc != 0) {
    // Env::resize reserves the blocks (posix_fallocate), then sets the map size: rc is either's.
    const std::string error = message("Env::resize", m_env.dir(), rc);
    if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
      // The disk cannot back a larger map: live within this one (retention evicts against it
      // from now on) instead of retrying, and failing, at every commit.
      util::log(util::LogLevel::warn, "store_limit_lowered", {{"from_bytes", m_store_max}, {"to_bytes", cur}, {"error", error}});
      m_store_max = cur;
      return false;
    }
    util::log(util::LogLevel::error, "store_map_grow_failed", {{"error", error}});
    return false;
  }
  util::log(util::LogLevel::info, "store_map_grown",
            {{"from_bytes", cur}, {"to_bytes", next}, {"after_map_full", after_map_full}});
  return true;
}

}  // namespace ssestitch::store::lmdb
