// redis::Writer, a group's pipeline: staging it (the rules of every SessionStore applied to the
// cached records, then the commands), absorbing its replies, sending the append script calls
// (redis_writer.h). Used by the writer thread and by the loop's commits.
#include <algorithm>
#include <map>

#include "core/store/lmdb_codec.h"
#include "core/store/redis_append.h"
#include "core/store/redis_writer.h"
#include "core/util/log.h"

namespace ssestitch::store::redis {
namespace {

using util::Errc;

// KEYS: next_stream. ARGV: n. Raises the counter to n.
constexpr const char* k_raise_script = R"lua(
if (tonumber(redis.call('GET', KEYS[1])) or 0) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
)lua";

}  // namespace

// Sends the script calls of `s`, reads their replies, loads the script again and resends once
// when the server lost it (restart, SCRIPT FLUSH; an append is idempotent: stale seqs are
// skipped).
util::Result<void> Writer::run_appends(Staged& s) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    s.taken = s.plain;
    s.lost_script = false;
    for (auto& call : s.calls) {
      call[1] = m_append_sha;
      m_conn->append(std::vector<std::string_view>(call.begin(), call.end()));
    }
    for (std::size_t i = 0; i < s.calls.size(); ++i) {
      auto r = m_conn->reply();
      if (!r) return std::move(r).error();
      absorb(s, r->get());
    }
    if (!s.error) return s.error;
    if (!s.lost_script) return util::ok();
    m_append_sha.clear();
    if (auto c = connect(); !c) return c;
  }
  return util::fail(Errc::store_unavailable, "redis " + m_options.address.display() + ": the append script keeps vanishing");
}

void Writer::absorb(Staged& s, const redisReply* r) {
  const std::size_t i = s.taken++;
  if (i < s.plain) {
    if (auto ok = check(r, m_options.address.display()); !ok && s.error) s.error = std::move(ok);
    return;
  }
  const std::uint64_t n = s.streams[i - s.plain];
  if (text(r).rfind("NOSCRIPT", 0) == 0) {
    s.lost_script = true;
  } else if (auto ok = check(r, m_options.address.display()); !ok) {
    if (ok.error().code == Errc::store_locked) {
      // Another writer took this stream over: nothing of it was written; the group's other
      // streams were (CommitInfo::fenced).
      m_cache.erase(n);
      s.fenced.push_back(n);
      util::log(util::LogLevel::warn, "store_stream_fenced", {{"stream", n}, {"owner", text(r).substr(7)}});
    } else if (s.error) {
      s.error = std::move(ok);
    }
  } else {
    note_append_reply(n, r);
  }
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

std::vector<std::uint64_t> Writer::streams_of(const std::vector<Pending>& group) {
  std::vector<std::uint64_t> out;
  for (const Pending& p : group) {
    for (const EventRecord& e : p.batch.events) out.push_back(e.stream);
    for (const StreamRecord& s : p.batch.streams) out.push_back(s.stream);
  }
  return out;
}

bool Writer::cached(const std::vector<Pending>& group) const {
  const std::vector<std::uint64_t> streams = streams_of(group);
  return std::all_of(streams.begin(), streams.end(), [&](std::uint64_t n) { return m_cache.count(n) != 0; });
}

// One pipeline: sessions, index entries, the counter, the meta stamp, then the appends. Redis
// runs them in that order; an error reply fails the group (commit_group, loop_done), and a
// group sent again is idempotent.
void Writer::stage(const std::vector<Pending>& group, Connection& conn, Staged& s) {
  // The rules of every SessionStore, in MemoryStore's order: sessions, events, stream records.
  std::vector<const SessionRecord*> sessions;
  std::map<std::uint64_t, std::vector<const EventRecord*>> touched;
  for (const Pending& p : group) {
    for (const SessionRecord& rec : p.batch.sessions) sessions.push_back(&rec);
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
    for (const StreamRecord& rec : p.batch.streams) {
      Cached& c = m_cache.at(rec.stream);
      if (c.exists && rec.next_seq < c.rec.next_seq) {
        util::log(util::LogLevel::warn, "store_stale_write",
                  {{"stream", rec.stream}, {"next_seq", rec.next_seq}, {"stored_next_seq", c.rec.next_seq}});
        continue;
      }
      upsert(c.rec, rec, c.exists);
      c.exists = true;
      touched[rec.stream];
    }
  }

  std::string blob;
  for (const SessionRecord* rec : sessions) {
    codec::encode_session(*rec, blob);
    conn.append({"SET", m_keys.session(rec->id), blob});
    conn.append({"ZADD", m_keys.sessions(), "0", rec->id});
    s.plain += 2;
  }
  for (auto& [n, events] : touched) {
    Cached& c = m_cache.at(n);
    const std::string num = std::to_string(n);
    if (!c.indexed) {
      conn.append({"ZADD", m_keys.streams(), num, num});
      ++s.plain;
      c.indexed = true;
    }
    if (c.rec.session != c.indexed_session) {
      if (!c.indexed_session.empty()) conn.append({"ZREM", m_keys.session_streams(c.indexed_session), num});
      if (!c.rec.session.empty()) conn.append({"ZADD", m_keys.session_streams(c.rec.session), num, num});
      s.plain += (c.indexed_session.empty() ? 0 : 1) + (c.rec.session.empty() ? 0 : 1);
      c.indexed_session = c.rec.session;
    }
    s.max_stream = std::max(s.max_stream, n);
  }
  if (s.max_stream > m_raised_to) {
    conn.append({"EVAL", k_raise_script, "1", m_keys.next_stream(), std::to_string(s.max_stream)});
    ++s.plain;
    m_raise_next_stream(s.max_stream);
  }
  s.now_ms = m_clock.wall_ms();
  if (m_last_commit_written_ms == 0 || s.now_ms - m_last_commit_written_ms >= 1000 || s.now_ms < m_last_commit_written_ms) {
    conn.append({"HSET", m_keys.meta(), "last_commit_ms", std::to_string(s.now_ms)});
    ++s.plain;
  }
  for (auto& [n, events] : touched) {
    codec::encode_stream(m_cache.at(n).rec, blob);
    s.calls.push_back(append_call(n, blob, events));
    s.streams.push_back(n);
    const auto& call = s.calls.back();
    conn.append(std::vector<std::string_view>(call.begin(), call.end()));
  }
}

util::Result<void> Writer::settle(const Staged& s) {
  if (!s.error) return s.error;
  m_raised_to = std::max(m_raised_to, s.max_stream);
  m_last_commit_written_ms = s.now_ms;
  return util::ok();
}

}  // namespace ssestitch::store::redis
