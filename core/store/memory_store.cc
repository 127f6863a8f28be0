#include "core/store/memory_store.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/store/batch_check.h"
#include "core/store/memory_log.h"
#include "core/util/log.h"

namespace ssestitch::store {
namespace {

constexpr std::int64_t k_maintenance_interval_ns = 1'000'000'000;
// Events a commit evicts at most for the store-wide bound while the store is between 90 % of it
// and the bound itself (see evict_for_store).
constexpr std::size_t k_evict_per_commit = 4096;

bool finished(StreamState s) { return s == StreamState::completed || s == StreamState::abandoned; }

bool idle_past(std::int64_t last_active_ms, std::int64_t ttl_ms, std::int64_t now_ms) {
  return ttl_ms > 0 && last_active_ms <= now_ms - ttl_ms;
}

}  // namespace

// Applies batches with the same rules and in the same order as lmdb::Writer (sessions, events,
// stream records; writes only move forward), so the contract tests run unchanged against both.
// Retention is simpler than LmdbStore's because nothing here is expensive: per-stream limits
// are applied to the streams a batch touched, idle_ttl and age are checked over all streams at
// most once per second of the store's clock, and the store-wide bound counts event payload
// bytes exactly. The store-wide eviction takes streams in the order of `activity`, kept exact as
// LmdbStore's cache keeps its own, and evicts a bounded number of events per commit (see
// evict_for_store). Scans run under the mutex: a scan callback must not call into the store.
struct MemoryStore::Impl {
  struct Stream {
    explicit Stream(std::uint64_t n) : events(n) { rec.stream = n; }
    StreamRecord rec;
    MemoryLog events;                        // ascending seq
    std::uint64_t last_seq = 0;              // newest seq ever stored
    std::optional<std::int64_t> listed_at;   // its key's last_active_ms in `activity`, if listed
  };

  Retention retention;
  const util::Clock& clock;
  mutable std::mutex mutex;
  std::map<std::string, SessionRecord, std::less<>> sessions;
  std::map<std::uint64_t, Stream> streams;
  // (last_active_ms, stream) of the streams that hold events, least recently active first.
  std::set<std::pair<std::int64_t, std::uint64_t>> activity;
  std::uint64_t total_bytes = 0;
  std::int64_t last_commit_ms = 0;
  std::int64_t next_maintenance_ns = 0;
  StoreMetrics metrics;
  std::atomic<std::uint64_t> next_stream{1};

  Impl(Retention r, const util::Clock& c) : retention(r), clock(c) {
    next_maintenance_ns = clock.mono_ns() + k_maintenance_interval_ns;
  }

  void raise_next_stream(std::uint64_t stream) {
    std::uint64_t cur = next_stream.load();
    while (cur <= stream && !next_stream.compare_exchange_weak(cur, stream + 1)) {
    }
  }

  Stream& stream_or_create(std::uint64_t n) {
    auto [it, inserted] = streams.try_emplace(n, n);
    if (inserted) raise_next_stream(n);
    return it->second;
  }

  // Lists `s` in `activity` under its current key, or not at all when it holds no event.
  void relist(Stream& s) {
    std::optional<std::int64_t> key;
    if (!s.events.empty()) key = s.rec.last_active_ms;
    if (key == s.listed_at) return;
    if (s.listed_at) activity.erase({*s.listed_at, s.rec.stream});
    if (key) activity.emplace(*key, s.rec.stream);
    s.listed_at = key;
  }

  void evict_front(Stream& s) {
    const EventView e = s.events.front();
    const std::uint64_t p = payload_bytes(e.upstream_id, e.type, e.data);
    s.rec.retained.bytes -= std::min(s.rec.retained.bytes, p);
    total_bytes -= std::min(total_bytes, p);
    --s.rec.retained.events;
    ++s.rec.retained.evicted;
    ++metrics.events_evicted;
    s.events.pop_front();
    s.rec.retained.first_seq = s.events.empty() ? 0 : s.events.front().seq;
    if (s.events.empty()) relist(s);
  }

  void trim(Stream& s, std::int64_t now_ms) {
    const Retention& r = retention;
    while (!s.events.empty()) {
      const Retained& ret = s.rec.retained;
      const bool over = (r.max_events_per_stream != 0 && ret.events > r.max_events_per_stream) ||
                        (r.max_bytes_per_stream != 0 && ret.bytes > r.max_bytes_per_stream) ||
                        (r.max_age_ms > 0 && s.events.front().arrival_ms < now_ms - r.max_age_ms);
      if (!over) break;
      evict_front(s);
    }
  }

  void erase_stream(std::map<std::uint64_t, Stream>::iterator it) {
    Stream& s = it->second;
    total_bytes -= std::min(total_bytes, s.rec.retained.bytes);
    metrics.events_evicted += s.events.size();
    if (s.listed_at) activity.erase({*s.listed_at, s.rec.stream});
    streams.erase(it);
  }

  void put_event(const EventRecord& ev) {
    auto it = streams.find(ev.stream);
    const std::uint64_t last = it == streams.end() ? 0 : it->second.last_seq;
    if (ev.seq <= last) {
      util::log(util::LogLevel::warn, "store_stale_write",
                {{"stream", ev.stream}, {"seq", ev.seq}, {"newest_seq", last}});
      return;
    }
    Stream& s = stream_or_create(ev.stream);
    advance(s.rec, ev);
    total_bytes += payload_bytes(ev);
    s.last_seq = ev.seq;
    s.events.append(ev);
    ++metrics.events_written;
  }

  void put_stream(const StreamRecord& rec) {
    auto it = streams.find(rec.stream);
    if (it != streams.end() && rec.next_seq < it->second.rec.next_seq) {
      util::log(util::LogLevel::warn, "store_stale_write",
                {{"stream", rec.stream}, {"next_seq", rec.next_seq}, {"stored_next_seq", it->second.rec.next_seq}});
      return;
    }
    const bool existed = it != streams.end();
    upsert(stream_or_create(rec.stream).rec, rec, existed);
  }

  void maintenance(std::int64_t now_ms) {
    const std::int64_t ttl = retention.idle_ttl_ms;
    std::vector<std::string> doomed_sessions;
    for (const auto& [id, s] : sessions) {
      if (s.state != SessionState::open && idle_past(s.last_active_ms, ttl, now_ms)) doomed_sessions.push_back(id);
    }
    for (auto it = streams.begin(); it != streams.end();) {
      const StreamRecord& rec = it->second.rec;
      // doomed_sessions is sorted: `sessions` is a std::map.
      const bool session_doomed = !rec.session.empty() &&
          std::binary_search(doomed_sessions.begin(), doomed_sessions.end(), rec.session);
      if (session_doomed || (finished(rec.state) && idle_past(rec.last_active_ms, ttl, now_ms))) {
        auto next = std::next(it);
        erase_stream(it);
        it = next;
      } else {
        trim(it->second, now_ms);
        ++it;
      }
    }
    for (const std::string& id : doomed_sessions) sessions.erase(id);
  }

  // Least recently active streams lose their oldest events first: past 90 % of the bound, at
  // most k_evict_per_commit per commit towards 90 %; above the bound itself, as many more as it
  // takes to come back under it. So a store at its bound sheds about what each commit adds
  // instead of a tenth of itself at once (the stall measured in memory_log.h).
  void evict_for_store() {
    const std::uint64_t max = retention.store_max_bytes;
    if (max == 0) return;
    const std::uint64_t low = max / 10 * 9;
    std::size_t budget = k_evict_per_commit;
    while (total_bytes > low && !activity.empty() && (budget > 0 || total_bytes > max)) {
      evict_front(streams.at(activity.begin()->second));
      if (budget > 0) --budget;
    }
  }
};

MemoryStore::MemoryStore(Retention retention, const util::Clock* clock)
    : m_impl(std::make_unique<Impl>(retention, clock ? *clock : util::system_clock())) {}

MemoryStore::~MemoryStore() = default;

util::Result<void> MemoryStore::submit(Batch batch, CommitCallback done) {
  if (auto r = check_batch(batch); !r) return r;
  const auto t0 = std::chrono::steady_clock::now();
  {
    std::lock_guard lk(m_impl->mutex);
    Impl& im = *m_impl;
    const std::int64_t now_ms = im.clock.wall_ms();
    for (SessionRecord& s : batch.sessions) {
      std::string id = s.id;
      im.sessions.insert_or_assign(std::move(id), std::move(s));
    }
    for (const EventRecord& e : batch.events) im.put_event(e);
    for (const StreamRecord& s : batch.streams) im.put_stream(s);
    for (const EventRecord& e : batch.events) {
      auto it = im.streams.find(e.stream);
      if (it == im.streams.end()) continue;
      im.trim(it->second, now_ms);
      im.relist(it->second);
    }
    for (const StreamRecord& rec : batch.streams) {
      if (auto it = im.streams.find(rec.stream); it != im.streams.end()) im.relist(it->second);
    }
    if (im.clock.mono_ns() >= im.next_maintenance_ns) {
      im.next_maintenance_ns = im.clock.mono_ns() + k_maintenance_interval_ns;
      im.maintenance(now_ms);
    }
    im.evict_for_store();
    im.last_commit_ms = now_ms;
    ++im.metrics.commits;
  }
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  if (done) {
    try {
      done(CommitInfo{static_cast<std::int64_t>(ns), {}});
    } catch (...) {
      util::log(util::LogLevel::error, "store_callback_threw");
    }
  }
  return util::ok();
}

util::Result<void> MemoryStore::flush() { return util::ok(); }

std::uint64_t MemoryStore::allocate_stream_number() { return m_impl->next_stream.fetch_add(1); }

util::Result<std::optional<SessionRecord>> MemoryStore::session(std::string_view id) const {
  std::lock_guard lk(m_impl->mutex);
  auto it = m_impl->sessions.find(id);
  if (it == m_impl->sessions.end()) return std::optional<SessionRecord>();
  return std::optional<SessionRecord>(it->second);
}

util::Result<std::optional<StreamRecord>> MemoryStore::stream(std::uint64_t stream) const {
  std::lock_guard lk(m_impl->mutex);
  auto it = m_impl->streams.find(stream);
  if (it == m_impl->streams.end()) return std::optional<StreamRecord>();
  return std::optional<StreamRecord>(it->second.rec);
}

util::Result<std::vector<SessionRecord>> MemoryStore::sessions() const {
  std::lock_guard lk(m_impl->mutex);
  std::vector<SessionRecord> out;
  out.reserve(m_impl->sessions.size());
  for (const auto& [id, s] : m_impl->sessions) out.push_back(s);
  return out;
}

util::Result<std::vector<StreamRecord>> MemoryStore::streams(std::optional<std::string_view> session) const {
  std::lock_guard lk(m_impl->mutex);
  std::vector<StreamRecord> out;
  for (const auto& [n, s] : m_impl->streams) {
    if (!session || (!session->empty() && s.rec.session == *session)) out.push_back(s.rec);
  }
  return out;
}

util::Result<std::size_t> MemoryStore::scan_events(std::uint64_t stream, std::uint64_t after_seq, std::size_t limit,
                                                   std::size_t max_bytes,
                                                   util::FunctionRef<bool(const EventView&)> visit) const {
  std::lock_guard lk(m_impl->mutex);
  auto it = m_impl->streams.find(stream);
  if (limit == 0 || it == m_impl->streams.end()) return std::size_t{0};
  std::size_t n = 0;
  std::size_t bytes = 0;
  it->second.events.visit_after(after_seq, [&](const EventView& view) {
    ++n;
    bytes += view.data.size();
    return visit(view) && n < limit && bytes < max_bytes;
  });
  return n;
}

util::Result<StoreStats> MemoryStore::stats() const {
  std::lock_guard lk(m_impl->mutex);
  StoreStats st;
  st.file_bytes = m_impl->total_bytes;
  st.max_bytes = m_impl->retention.store_max_bytes;
  st.sessions = m_impl->sessions.size();
  st.streams = m_impl->streams.size();
  std::int64_t oldest = LLONG_MAX, newest = LLONG_MIN;
  for (const auto& [n, s] : m_impl->streams) {
    st.events += s.events.size();
    if (!s.events.empty()) {
      oldest = std::min(oldest, s.events.front().arrival_ms);
      newest = std::max(newest, s.events.back().arrival_ms);
    }
  }
  if (st.events > 0) {
    st.oldest_event_ms = oldest;
    st.newest_event_ms = newest;
  }
  st.last_commit_ms = m_impl->last_commit_ms;
  return st;
}

StoreMetrics MemoryStore::metrics() const {
  std::lock_guard lk(m_impl->mutex);
  return m_impl->metrics;
}

}  // namespace ssestitch::store
