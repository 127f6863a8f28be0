// redis::Writer, the retention pass run once a second (redis_writer.h; what it deletes:
// "Retention" in redis_store.h).
#include <algorithm>

#include "core/store/lmdb_codec.h"
#include "core/store/redis_records.h"
#include "core/store/redis_writer.h"

namespace ssestitch::store::redis {
namespace {

bool finished(StreamState s) { return s == StreamState::completed || s == StreamState::abandoned; }

bool idle_past(std::int64_t last_active_ms, std::int64_t ttl_ms, std::int64_t now_ms) {
  return ttl_ms > 0 && last_active_ms <= now_ms - ttl_ms;
}

constexpr std::size_t k_window = 512;          // sessions / streams visited per maintenance pass

}  // namespace

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
  Staged trims;
  for (std::uint64_t n : visit) {
    const Cached& c = m_cache.at(n);
    if (!c.exists || std::find(gone.begin(), gone.end(), n) != gone.end()) continue;
    if (finished(c.rec.state) && idle_past(c.rec.last_active_ms, r.idle_ttl_ms, now_ms)) {
      gone.push_back(n);
    } else if (r.max_age_ms > 0 && c.rec.retained.events > 0) {
      trims.calls.push_back(append_call(n, std::string(), {}));
      trims.streams.push_back(n);
    }
  }
  std::size_t plain = 0;
  std::uint64_t evicted = 0;
  for (std::uint64_t n : gone) {
    auto it = m_cache.find(n);
    const std::string num = std::to_string(n);
    m_conn->append({"DEL", m_keys.stream(n), m_keys.events(n), m_keys.summaries(n)});
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
  if (!trims.calls.empty()) return run_appends(trims);
  return util::ok();
}


}  // namespace ssestitch::store::redis
