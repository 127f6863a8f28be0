#include "core/store/lmdb_committer.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/util/log.h"

namespace ssestitch::store::lmdb {
namespace {

using util::Errc;
using SteadyClock = std::chrono::steady_clock;

constexpr std::int64_t k_maintenance_interval_ns = 1'000'000'000;
constexpr std::size_t k_max_notices = 8;  // stale-write log lines per transaction

void raise_to(std::atomic<std::uint64_t>& a, std::uint64_t v) noexcept {
  std::uint64_t cur = a.load();
  while (cur < v && !a.compare_exchange_weak(cur, v)) {
  }
}

}  // namespace

Committer::Committer(Env& env, const LmdbOptions& options, std::atomic<std::uint64_t>& next_stream)
    : m_env(env),
      m_options(options),
      m_clock(options.clock ? *options.clock : util::system_clock()),
      m_next_stream(next_stream) {
  const std::uint64_t page = env.page_size();
  m_store_max = std::max<std::uint64_t>(options.retention.store_max_bytes, 1u << 20) / page * page;
}

util::Result<void> Committer::load() {
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
    std::uint64_t event_stream = 0, seq = 0;
    if (erc == 0 && codec::decode_event_key(view(ek), event_stream, seq) && event_stream == stream) e.last_seq = seq;
    // With every event evicted, next_seq - 1 is the best bound (the writer keeps next_seq past
    // every seq it stored).
    if (e.last_seq == 0 && e.rec.retained.evicted > 0 && e.rec.next_seq > 0) e.last_seq = e.rec.next_seq - 1;
    m_cache.load(std::move(e));
  }
  if (rc != MDB_NOTFOUND) return util::fail(errc_for(rc, Errc::io_error), message("mdb_cursor_get", m_env.dir(), rc));
  MDB_val mk = val(k_mark_key);
  MDB_val mv{};
  rc = mdb_get(rt->get(), dbi.meta, &mk, &mv);
  if (JournalMark mark; rc == 0 && decode_mark(view(mv), mark)) {
    m_mark = mark;
  } else if (rc == 0) {
    return util::fail(Errc::store_corrupt, m_env.dir() + ": the store's meta record \"journal\" is malformed");
  } else if (rc != MDB_NOTFOUND) {
    return util::fail(errc_for(rc, Errc::io_error), message("mdb_get", m_env.dir(), rc));
  }
  m_next_maintenance_ns = m_clock.mono_ns() + k_maintenance_interval_ns;
  return util::ok();
}

util::Result<void> Committer::set_journal_mark(JournalMark mark) {
  std::shared_lock gate(m_env.gate());
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(m_env.get(), nullptr, 0, &raw);
  if (rc == 0) {
    TxnPtr txn(raw);
    rc = put_mark(raw, mark);
    if (rc == 0) rc = commit(txn);
  }
  if (rc != 0) return util::fail(errc_for(rc, Errc::io_error), message("set_journal_mark", m_env.dir(), rc));
  m_mark = mark;
  return util::ok();
}

int Committer::put_mark(MDB_txn* txn, JournalMark mark) {
  const std::string v = encode_mark(mark);
  MDB_val k = val(k_mark_key);
  MDB_val mv = val(v);
  return mdb_put(txn, m_env.dbi().meta, &k, &mv, 0);
}

bool Committer::maintain() {
  if (m_clock.mono_ns() < m_next_maintenance_ns && m_doomed_streams.empty() && m_doomed_sessions.empty() &&
      !m_backlog) {
    return false;
  }
  Txn state;
  const int rc = run_txn({}, Work::maintenance, state);
  if (rc == 0) return state.committed;
  if (rc == MDB_MAP_FULL) {
    grow_map(true);
  } else {
    util::log(util::LogLevel::error, "store_maintenance_failed", {{"error", message(state.failed_call, m_env.dir(), rc)}});
  }
  return false;
}

void Committer::fail_group(std::vector<Pending>& group, const std::string& what) noexcept {
  util::log(util::LogLevel::error, "store_writer_exception", {{"error", what}});
  rollback();
  const util::Error err{util::Errc::internal, "store writer: " + what};
  try {
    fail_metrics(err);
  } catch (...) {
  }
  for (Pending& p : group) {
    if (!p.done) continue;
    try {
      p.done(err);
    } catch (...) {
    }
    p.done = nullptr;
  }
}

void Committer::count_queue_full() {
  std::lock_guard lk(m_metrics_mutex);
  ++m_metrics.queue_full;
}

StoreMetrics Committer::metrics() const {
  std::lock_guard lk(m_metrics_mutex);
  return m_metrics;
}

bool Committer::process_group(std::vector<Pending>& group, bool light) {
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
  auto r = commit_batches(all, light);
  if (!r && r.error().code == Errc::store_full && all.size() > 1) {
    // The group as a whole does not fit: commit batch by batch so that those that fit succeed.
    for (Pending* p : all) {
      auto one = commit_batches(std::span<Pending*>(&p, 1), light);
      committed |= one.has_value();
      deliver(*p, one);
    }
    return committed;
  }
  for (Pending* p : all) deliver(*p, r);
  return r.has_value();
}

util::Result<CommitInfo> Committer::commit_batches(std::span<Pending*> batches, bool light) {
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
    Txn state;
    state.light = light;
    const std::int64_t t0 = SteadyClock::now().time_since_epoch().count();
    const int rc = run_txn(batches, Work::batches, state);
    const std::int64_t ns = SteadyClock::now().time_since_epoch().count() - t0;
    if (rc == 0) {
      {
        std::lock_guard lk(m_metrics_mutex);
        ++m_metrics.commits;
        record_commit_latency(m_metrics, ns);
        m_metrics.degraded = false;
      }
      return CommitInfo{ns, {}};
    }
    if (rc == MDB_MAP_FULL) {
      if (grow_map(true)) continue;
      if (!evicted) {
        evicted = true;
        Txn eviction;
        if (run_txn({}, Work::evict, eviction) == 0 && eviction.events_evicted > 0) {
          Txn advance_state;
          run_txn({}, Work::advance, advance_state);
          continue;
        }
      }
      const util::Error err{Errc::store_full,
                            message(state.failed_call, m_env.dir(), rc) + " (the store is at its limit of " +
                                std::to_string(m_store_max) + " bytes and eviction freed too little)"};
      fail_metrics(err);
      return err;
    }
    if (rc == MDB_MAP_RESIZED && resized++ < 3) {
      m_env.resize(0);
      continue;
    }
    const util::Error err{errc_for(rc, Errc::io_error), message(state.failed_call, m_env.dir(), rc)};
    fail_metrics(err);
    return err;
  }
}

void Committer::fail_metrics(const util::Error& e) {
  util::log(util::LogLevel::error, "store_commit_failed",
            {{"code", util::to_string(e.code)}, {"error", e.message}});
  std::lock_guard lk(m_metrics_mutex);
  ++m_metrics.write_errors;
  m_metrics.degraded = true;
  m_metrics.last_error = e.message;
}

int Committer::run_txn(std::span<Pending*> batches, Work work, Txn& state) {
  std::shared_lock gate(m_env.gate());
  const Dbis& dbi = m_env.dbi();
  state.now_ms = m_clock.wall_ms();
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(m_env.get(), nullptr, 0, &raw);
  if (rc != 0) {
    state.failed_call = "mdb_txn_begin";
    return rc;
  }
  TxnPtr txn(raw);
  MDB_cursor* craw = nullptr;
  rc = mdb_cursor_open(raw, dbi.events, &craw);
  if (rc != 0) {
    state.failed_call = "mdb_cursor_open";
    return rc;
  }
  CursorPtr cursor(craw);
  state.txn = raw;
  state.events = craw;
  m_cache.begin();

  if (!m_tail_read) {
    MDB_val k{}, v{};
    rc = mdb_cursor_get(craw, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == codec::k_event_key_size) {
      m_tail.emplace();
      std::memcpy(m_tail->data(), k.mv_data, codec::k_event_key_size);
    }
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    if (rc != 0) state.failed_call = "mdb_cursor_get";
    m_tail_read = rc == 0;
  }
  state.has_tail = m_tail.has_value();
  if (state.has_tail) state.tail = *m_tail;

  const bool maintenance_due = m_clock.mono_ns() >= m_next_maintenance_ns || (m_backlog && !state.light);
  bool changed = work == Work::batches || work == Work::advance;
  std::optional<JournalMark> mark;
  if (rc == 0 && work == Work::batches) {
    for (Pending* p : batches) {
      if ((rc = apply(state, p->batch)) != 0) break;
      if (p->journaled) mark = p->journaled;
    }
    if (rc == 0) rc = trim_touched(state);
    if (rc == 0 && mark) {
      rc = put_mark(raw, *mark);
      if (rc != 0) state.failed_call = "mdb_put";
    }
  }
  if (rc == 0) {
    if (work == Work::evict) {
      rc = evict_for_store(state, true);
    } else if (work != Work::advance) {
      if (maintenance_due) rc = maintenance_step(state);
      if (rc == 0) rc = delete_doomed(state);
      if (rc == 0) rc = evict_for_store(state, false);
    }
  }
  changed = changed || !m_cache.dirty().empty() || state.events_evicted > 0 || !state.finished_sessions.empty() ||
            !state.finished_streams.empty();
  if (rc == 0 && changed) rc = write_dirty(state);
  // last_commit_ms is rewritten once a second at most (and by every advance): at thousands of
  // commits a second, rewriting it each time copied and freed a meta page per commit.
  const bool stamp = work == Work::advance || state.now_ms >= m_stamped_ms + 1000 || state.now_ms < m_stamped_ms;
  if (rc == 0 && changed && stamp) {
    char ms[8];
    codec::put_u64_be(ms, static_cast<std::uint64_t>(state.now_ms));
    MDB_val mk = val(std::string_view("last_commit_ms"));
    MDB_val mv = val(ms, sizeof ms);
    rc = mdb_put(raw, dbi.meta, &mk, &mv, 0);
    if (rc != 0) state.failed_call = "mdb_put";
  }
  cursor.reset();  // cursors close before their transaction ends
  state.events = nullptr;
  if (rc != 0 || !changed) {
    txn.reset();
    rollback();
    if (rc == 0 && maintenance_due) m_next_maintenance_ns = m_clock.mono_ns() + k_maintenance_interval_ns;
    return rc;
  }
  rc = commit(txn);
  state.txn = nullptr;
  if (rc != 0) {
    state.failed_call = "mdb_txn_commit";
    rollback();
    return rc;
  }
  if (maintenance_due) m_next_maintenance_ns = m_clock.mono_ns() + k_maintenance_interval_ns;
  state.committed = true;
  if (state.has_tail) m_tail = state.tail;
  if (stamp) m_stamped_ms = state.now_ms;
  if (mark) m_mark = mark;
  settle(state);
  return 0;
}

int Committer::apply(Txn& state, const Batch& batch) {
  const Dbis& dbi = m_env.dbi();
  for (const SessionRecord& s : batch.sessions) {
    codec::encode_session(s, m_scratch);
    MDB_val k = val(s.id);
    MDB_val v = val(m_scratch);
    if (const int rc = mdb_put(state.txn, dbi.sessions, &k, &v, 0); rc != 0) {
      state.failed_call = "mdb_put";
      return rc;
    }
  }
  for (const EventRecord& e : batch.events) {
    if (const int rc = put_event(state, e); rc != 0) return rc;
  }
  for (const StreamRecord& s : batch.streams) {
    if (const int rc = put_stream(state, s); rc != 0) return rc;
  }
  return 0;
}

int Committer::put_event(Txn& state, const EventRecord& ev) {
  StreamEntry* cur = m_cache.find(ev.stream);
  const std::uint64_t last = cur ? cur->last_seq : 0;
  auto stale = [&](const char* why) {
    if (++state.stale <= k_max_notices) {
      state.notices.push_back("event " + std::to_string(ev.stream) + "-" + std::to_string(ev.seq) + ": " + why +
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
  const bool append = !state.has_tail || std::memcmp(key.data(), state.tail.data(), key.size()) > 0;
  const int rc = mdb_cursor_put(state.events, &k, &v, MDB_RESERVE | (append ? MDB_APPEND : MDB_NOOVERWRITE));
  if (rc == MDB_KEYEXIST) return stale("already stored");
  if (rc != 0) {
    state.failed_call = "mdb_cursor_put";
    return rc;
  }
  codec::write_event_value(ev, static_cast<char*>(v.mv_data));
  if (append) {
    state.tail = key;
    state.has_tail = true;
  }

  StreamEntry& e = touch_or_create(ev.stream);
  advance(e.rec, ev);
  e.last_seq = ev.seq;
  m_cache.mark_dirty(e);
  ++state.events_written;
  return 0;
}

int Committer::put_stream(Txn& state, const StreamRecord& rec) {
  StreamEntry* cur = m_cache.find(rec.stream);
  if (cur && rec.next_seq < cur->rec.next_seq) {
    if (++state.stale <= k_max_notices) {
      state.notices.push_back("stream " + std::to_string(rec.stream) + ": next_seq " + std::to_string(rec.next_seq) +
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
    const int rc = mdb_del(state.txn, index, &k, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      state.failed_call = "mdb_del";
      return rc;
    }
  }
  StreamEntry& e = touch_or_create(rec.stream);
  upsert(e.rec, rec, existed);
  m_cache.mark_dirty(e);

  if (!rec.session.empty() && (!existed || moved)) {
    codec::session_stream_key(rec.session, rec.stream, m_scratch);
    MDB_val k = val(m_scratch);
    MDB_val v{0, nullptr};
    if (const int rc = mdb_put(state.txn, index, &k, &v, 0); rc != 0) {
      state.failed_call = "mdb_put";
      return rc;
    }
  }
  return 0;
}

int Committer::write_dirty(Txn& state) {
  const MDB_dbi streams = m_env.dbi().streams;
  for (const std::uint64_t s : m_cache.dirty()) {
    StreamEntry* e = m_cache.find(s);
    if (!e || !e->dirty) continue;
    codec::encode_stream(e->rec, m_scratch);
    const codec::StreamKey key = codec::stream_key(s);
    MDB_val k = val(key.data(), key.size());
    MDB_val v = val(m_scratch);
    if (const int rc = mdb_put(state.txn, streams, &k, &v, 0); rc != 0) {
      state.failed_call = "mdb_put";
      return rc;
    }
  }
  return 0;
}

Committer::StreamEntry& Committer::touch_or_create(std::uint64_t stream) {
  bool created = false;
  StreamEntry& e = m_cache.touch_or_create(stream, &created);
  // Events for a stream without a record create a minimal one (documented in lmdb_store.h).
  if (created) raise_to(m_next_stream, stream + 1);
  return e;
}

void Committer::rollback() noexcept { m_cache.rollback(); }

void Committer::settle(Txn& state) {
  m_cache.commit();
  // A full transaction did its share (a work list longer than its budget goes on at the next
  // maintenance pass, as before); a light one that ran out asks for a full one.
  m_backlog = state.light ? (m_backlog || state.backlog) : false;
  for (const std::uint64_t s : state.finished_streams) m_doomed_streams.erase(s);
  for (const std::string& s : state.finished_sessions) m_doomed_sessions.erase(s);
  for (const std::string& n : state.notices) util::log(util::LogLevel::warn, "store_stale_write", {{"detail", n}});
  if (state.stale > state.notices.size()) {
    util::log(util::LogLevel::warn, "store_stale_write", {{"more", state.stale - state.notices.size()}});
  }
  if (state.events_written != 0 || state.events_evicted != 0) {
    std::lock_guard lk(m_metrics_mutex);
    m_metrics.events_written += state.events_written;
    m_metrics.events_evicted += state.events_evicted;
  }
}

bool Committer::grow_map(bool after_map_full) {
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
