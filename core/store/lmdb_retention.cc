// Retention for lmdb::Committer (see the essay in lmdb_committer.h): per-stream trimming, the rotating
// maintenance window, deletion of idle sessions and streams, and store-level eviction. Every
// function runs inside the writer's current write transaction and deletes at most a budget of
// events, so no transaction grows without bound and the proxy's commits are never held up by a
// large backlog of retention work; what is left over is picked up by later transactions.

#include <algorithm>
#include <climits>
#include <vector>

#include "core/store/lmdb_committer.h"
#include "core/util/log.h"

namespace ssestitch::store::lmdb {
namespace {

constexpr std::size_t k_trim_budget = 1024;         // per transaction, plus one per event written
constexpr std::size_t k_maintenance_budget = 4096;  // per maintenance step
constexpr std::size_t k_evict_budget = 4096;        // store-level eviction per transaction
// Per kind of work in a light transaction (an inline commit, on the proxy's loop:
// lmdb_committer.h), plus two per event written (one for trim_touched): enough to keep up with
// the writes, and small enough that no commit on the loop deletes thousands of events.
constexpr std::size_t k_light_budget = 64;
constexpr std::size_t k_forced_evict_budget = 65536;  // after MDB_MAP_FULL at store_max_bytes
constexpr std::size_t k_rotation_window = 512;      // streams and sessions checked per step
// What an event costs besides its payload: the 16-byte key, the value's length fields and
// arrival time, and the LMDB node header, rounded up.
constexpr std::uint64_t k_event_overhead = 48;
constexpr std::int64_t k_evict_log_interval_ns = 10'000'000'000;

bool finished(StreamState s) { return s == StreamState::completed || s == StreamState::abandoned; }

bool idle_past(std::int64_t last_active_ms, std::int64_t ttl_ms, std::int64_t now_ms) {
  return ttl_ms > 0 && last_active_ms <= now_ms - ttl_ms;
}

// Visits the session_streams index entries of `session` in key order; an entry is deleted when
// `drop(stream)` returns true. Returns 0 or the LMDB code (failed_call set).
template <class Drop>
int visit_session_streams(MDB_txn* txn, MDB_dbi dbi, std::string_view session, const char*& failed_call,
                          Drop&& drop) {
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(txn, dbi, &raw);
  if (rc != 0) {
    failed_call = "mdb_cursor_open";
    return rc;
  }
  CursorPtr cursor(raw);
  std::string prefix;
  codec::session_stream_prefix(session, prefix);
  MDB_val k = val(prefix);
  MDB_val v{};
  for (rc = mdb_cursor_get(raw, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT)) {
    std::string_view s;
    std::uint64_t stream = 0;
    if (!codec::decode_session_stream_key(view(k), s, stream) || s != session) return 0;
    if (drop(stream) && (rc = mdb_cursor_del(raw, 0)) != 0) {
      failed_call = "mdb_cursor_del";
      return rc;
    }
  }
  if (rc != MDB_NOTFOUND) {
    failed_call = "mdb_cursor_get";
    return rc;
  }
  return 0;
}

}  // namespace

int Committer::trim_stream(Txn& state, std::uint64_t stream, std::uint64_t free_bytes, std::uint64_t* freed_out) {
  const Retention& lim = m_options.retention;
  StreamEntry* cur = m_cache.find(stream);
  if (!cur || cur->rec.retained.events == 0 || state.trim_budget == 0) return 0;
  auto over = [&](const Retained& r) {
    return (lim.max_events_per_stream != 0 && r.events > lim.max_events_per_stream) ||
           (lim.max_bytes_per_stream != 0 && r.bytes > lim.max_bytes_per_stream);
  };
  const std::int64_t age_cutoff = lim.max_age_ms > 0 ? state.now_ms - lim.max_age_ms : LLONG_MIN;
  // When neither a limit nor the age of the oldest event (known without reading it) makes
  // anything due, the oldest event need not be read.
  const bool age_due = lim.max_age_ms > 0 && cur->oldest_arrival_ms < age_cutoff;
  if (!over(cur->rec.retained) && !age_due && free_bytes == 0) return 0;

  const codec::EventKey start = codec::event_key(stream, cur->rec.retained.first_seq);
  MDB_val k = val(start.data(), start.size());
  MDB_val v{};
  int rc = mdb_cursor_get(state.events, &k, &v, MDB_SET_RANGE);
  StreamEntry* e = nullptr;  // touched (undo-logged) only once something changes
  auto writable = [&]() -> Retained& {
    if (!e) {
      e = &m_cache.touch(stream);
      m_cache.mark_dirty(*e);
    }
    return e->rec.retained;
  };
  std::uint64_t freed = 0;
  bool first = true;
  for (;;) {
    std::uint64_t s = 0, seq = 0;
    if (rc == MDB_NOTFOUND || (rc == 0 && (!codec::decode_event_key(view(k), s, seq) || s != stream))) {
      // The counters say events remain but none do (only after an earlier bug or a lost
      // record): make them agree with the data.
      Retained& r = writable();
      r.events = 0;
      r.bytes = 0;
      r.first_seq = 0;
      break;
    }
    if (rc != 0) {
      state.failed_call = "mdb_cursor_get";
      return rc;
    }
    if (first && seq != cur->rec.retained.first_seq) writable().first_seq = seq;
    first = false;
    EventView ev;
    if (!codec::decode_event_value(view(v), ev)) {
      state.failed_call = "decode(event)";
      return MDB_CORRUPTED;
    }
    const Retained& r = e ? e->rec.retained : cur->rec.retained;
    const bool due = over(r) || ev.arrival_ms < age_cutoff || freed < free_bytes;
    if (!due || state.trim_budget == 0) {
      cur->oldest_arrival_ms = ev.arrival_ms;  // a rollback restores the entry, bound included
      break;
    }
    const std::uint64_t payload = payload_bytes(ev.upstream_id, ev.type, ev.data);
    rc = mdb_cursor_del(state.events, 0);
    if (rc != 0) {
      state.failed_call = "mdb_cursor_del";
      return rc;
    }
    Retained& w = writable();
    --w.events;
    w.bytes -= std::min(w.bytes, payload);
    ++w.evicted;
    freed += payload + k_event_overhead;
    --state.trim_budget;
    ++state.events_evicted;
    // After mdb_cursor_del the cursor already sits on the following item, and MDB_NEXT
    // returns that item rather than skipping it (lmdb.h, mdb_cursor_del; mdb.c C_DEL).
    rc = mdb_cursor_get(state.events, &k, &v, MDB_NEXT);
    if (rc == 0 && codec::decode_event_key(view(k), s, seq) && s == stream) {
      w.first_seq = seq;
    } else if (rc == 0 || rc == MDB_NOTFOUND) {
      w.first_seq = 0;
      w.events = 0;
      w.bytes = 0;
      break;
    }
    if (w.events == 0) break;
  }
  if (freed_out) *freed_out = freed;
  return 0;
}

std::size_t Committer::budget(const Txn& state, std::size_t full) noexcept {
  return state.light ? std::min(full, k_light_budget + 2 * state.events_written) : full;
}

int Committer::trim_touched(Txn& state) {
  const Retention& lim = m_options.retention;
  if (lim.max_events_per_stream == 0 && lim.max_bytes_per_stream == 0 && lim.max_age_ms <= 0) return 0;
  state.trim_budget = (state.light ? k_light_budget : k_trim_budget) + state.events_written;
  // trim_stream only marks streams that are already dirty, so the list does not grow here.
  const std::size_t n = m_cache.dirty().size();
  for (std::size_t i = 0; i < n; ++i) {
    if (const int rc = trim_stream(state, m_cache.dirty()[i], 0, nullptr); rc != 0) return rc;
  }
  return 0;
}

int Committer::maintenance_step(Txn& state) {
  const Retention& lim = m_options.retention;
  state.trim_budget = budget(state, k_maintenance_budget);

  std::vector<std::uint64_t> window;
  const auto& streams = m_cache.entries();
  auto it = streams.lower_bound(m_rotation_stream);
  for (; it != streams.end() && window.size() < k_rotation_window; ++it) window.push_back(it->first);
  m_rotation_stream = it == streams.end() ? 0 : it->first;
  for (const std::uint64_t s : window) {
    const StreamEntry* e = m_cache.find(s);
    if (!e) continue;
    if (finished(e->rec.state) && idle_past(e->rec.last_active_ms, lim.idle_ttl_ms, state.now_ms)) {
      m_doomed_streams.insert(s);
      continue;
    }
    if (const int rc = trim_stream(state, s, 0, nullptr); rc != 0) return rc;
  }
  if (state.light && state.trim_budget == 0) state.backlog = true;

  if (lim.idle_ttl_ms <= 0) return 0;
  MDB_cursor* raw = nullptr;
  int rc = mdb_cursor_open(state.txn, m_env.dbi().sessions, &raw);
  if (rc != 0) {
    state.failed_call = "mdb_cursor_open";
    return rc;
  }
  CursorPtr cursor(raw);
  MDB_val k = val(m_rotation_session);
  MDB_val v{};
  rc = m_rotation_session.empty() ? mdb_cursor_get(raw, &k, &v, MDB_FIRST)
                                  : mdb_cursor_get(raw, &k, &v, MDB_SET_RANGE);
  std::vector<std::string> doomed;
  SessionRecord rec;
  for (std::size_t n = 0; rc == 0 && n < k_rotation_window; ++n) {
    if (codec::decode_session(view(v), rec) && rec.state != SessionState::open &&
        idle_past(rec.last_active_ms, lim.idle_ttl_ms, state.now_ms)) {
      doomed.emplace_back(view(k));
    }
    rc = mdb_cursor_get(raw, &k, &v, MDB_NEXT);
  }
  if (rc == 0) {
    m_rotation_session.assign(view(k));
  } else if (rc == MDB_NOTFOUND) {
    m_rotation_session.clear();
  } else {
    state.failed_call = "mdb_cursor_get";
    return rc;
  }
  cursor.reset();
  for (const std::string& id : doomed) {
    if (const int r = doom_session(state, id); r != 0) return r;
  }
  return 0;
}

int Committer::doom_session(Txn& state, std::string_view session) {
  m_doomed_sessions.emplace(session);
  return visit_session_streams(state.txn, m_env.dbi().session_streams, session, state.failed_call,
                               [&](std::uint64_t stream) {
                                 m_doomed_streams.insert(stream);
                                 return false;
                               });
}

int Committer::delete_doomed(Txn& state) {
  if (m_doomed_streams.empty() && m_doomed_sessions.empty()) return 0;
  const Dbis& dbi = m_env.dbi();
  std::size_t budget = Committer::budget(state, k_maintenance_budget);
  for (const std::uint64_t stream : m_doomed_streams) {
    if (budget == 0) break;
    const codec::EventKey start = codec::event_key(stream, 0);
    MDB_val k = val(start.data(), start.size());
    MDB_val v{};
    int rc = mdb_cursor_get(state.events, &k, &v, MDB_SET_RANGE);
    StreamEntry* e = m_cache.find(stream);
    if (e) {
      e = &m_cache.touch(stream);
      m_cache.mark_dirty(*e);
    }
    bool done = false;
    for (;;) {
      std::uint64_t s = 0, seq = 0;
      if (rc == MDB_NOTFOUND || (rc == 0 && (!codec::decode_event_key(view(k), s, seq) || s != stream))) {
        done = true;
        break;
      }
      if (rc != 0) {
        state.failed_call = "mdb_cursor_get";
        return rc;
      }
      if (budget == 0) break;
      EventView ev;
      const bool decoded = codec::decode_event_value(view(v), ev);
      if ((rc = mdb_cursor_del(state.events, 0)) != 0) {
        state.failed_call = "mdb_cursor_del";
        return rc;
      }
      --budget;
      ++state.events_evicted;
      if (e) {
        // Keep the counters true in case the transaction commits before the stream is gone.
        Retained& r = e->rec.retained;
        r.events -= std::min<std::uint64_t>(r.events, 1);
        if (decoded) r.bytes -= std::min(r.bytes, payload_bytes(ev.upstream_id, ev.type, ev.data));
        ++r.evicted;
      }
      rc = mdb_cursor_get(state.events, &k, &v, MDB_NEXT);
      if (e && rc == 0 && codec::decode_event_key(view(k), s, seq) && s == stream) e->rec.retained.first_seq = seq;
    }
    if (!done) break;
    const codec::StreamKey sk = codec::stream_key(stream);
    MDB_val key = val(sk.data(), sk.size());
    int rc2 = mdb_del(state.txn, dbi.streams, &key, nullptr);
    if (rc2 == 0 && e && !e->rec.session.empty()) {
      codec::session_stream_key(e->rec.session, stream, m_scratch);
      MDB_val ik = val(m_scratch);
      rc2 = mdb_del(state.txn, dbi.session_streams, &ik, nullptr);
    }
    if (rc2 != 0 && rc2 != MDB_NOTFOUND) {
      state.failed_call = "mdb_del";
      return rc2;
    }
    m_cache.erase(stream);
    state.finished_streams.push_back(stream);
  }

  // A doomed session goes once none of its streams is left; index entries of streams that no
  // longer exist are dropped on the way.
  std::vector<std::uint64_t> more;
  for (const std::string& session : m_doomed_sessions) {
    bool remaining = false;
    int rc = visit_session_streams(state.txn, dbi.session_streams, session, state.failed_call, [&](std::uint64_t stream) {
      if (!m_cache.find(stream)) return true;
      remaining = true;
      more.push_back(stream);
      return false;
    });
    if (rc != 0) return rc;
    if (remaining) continue;
    MDB_val key = val(session);
    rc = mdb_del(state.txn, dbi.sessions, &key, nullptr);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      state.failed_call = "mdb_del";
      return rc;
    }
    state.finished_sessions.push_back(session);
  }
  m_doomed_streams.insert(more.begin(), more.end());
  return 0;
}

int Committer::evict_for_store(Txn& state, bool after_map_full) {
  const std::uint64_t high = m_store_max / 10 * 9;
  // Live pages never exceed the map: while the map is below the mark, the seven mdb_stat
  // calls of live_bytes (a fifth of a microsecond in every commit) can wait.
  if (!after_map_full && m_env.map_bytes() <= high) return 0;
  const std::uint64_t live = live_bytes(state.txn);
  // Evict down to 85% (80% after a MDB_MAP_FULL), so that eviction runs in bursts rather than
  // in every transaction once the store is at its limit.
  const std::uint64_t low = m_store_max / 100 * (after_map_full ? 80 : 85);
  // After MDB_MAP_FULL with the store well below its limit, the batch alone is too large (or
  // readers pin old pages): evicting other streams' events would lose data and not help.
  if (after_map_full ? live <= low : live <= high) return 0;
  std::uint64_t target = live - low;
  if (after_map_full) target = std::max(target, m_store_max / 10);
  state.trim_budget = after_map_full ? k_forced_evict_budget : budget(state, k_evict_budget);
  const std::uint64_t evicted_before = state.events_evicted;
  std::uint64_t freed = 0;
  for (const auto& [last_active, stream] : m_cache.activity()) {
    if (freed >= target || state.trim_budget == 0) break;
    std::uint64_t f = 0;
    if (const int rc = trim_stream(state, stream, target - freed, &f); rc != 0) return rc;
    freed += f;
  }
  const std::int64_t now = m_clock.mono_ns();
  if (state.events_evicted > evicted_before && (after_map_full || now >= m_next_evict_log_ns)) {
    m_next_evict_log_ns = now + k_evict_log_interval_ns;
    util::log(util::LogLevel::warn, "store_evicting",
              {{"live_bytes", live}, {"max_bytes", m_store_max}, {"freed_bytes", freed},
               {"events", state.events_evicted - evicted_before}, {"after_map_full", after_map_full}});
  }
  return 0;
}

std::uint64_t Committer::live_bytes(MDB_txn* txn) const {
  const Dbis& d = m_env.dbi();
  // 0 and 1 are LMDB's free-page and main databases.
  const MDB_dbi dbis[] = {0, 1, d.meta, d.sessions, d.streams, d.events, d.session_streams};
  std::uint64_t pages = 2;  // the two meta pages
  for (const MDB_dbi dbi : dbis) {
    MDB_stat st{};
    if (mdb_stat(txn, dbi, &st) == 0) pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
  }
  return pages * m_env.page_size();
}

}  // namespace ssestitch::store::lmdb
