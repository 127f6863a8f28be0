#include "core/tracker/event_tracker.h"

#include <charconv>

namespace ssestitch::tracker {
namespace {

std::optional<std::uint64_t> decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// In place: the string keeps its buffer from one event to the next (no allocation per event).
void remember_id(Cursor& cursor, std::string_view id) {
  if (cursor.last_upstream_id) {
    cursor.last_upstream_id->assign(id);
  } else {
    cursor.last_upstream_id.emplace(id);
  }
}

}  // namespace

EventTracker::EventTracker(std::size_t dedup_window) : m_window(dedup_window) {}

void EventTracker::add_stream(StreamNo stream, std::string_view session) {
  if (m_streams.count(stream) != 0) return;
  m_streams.emplace(stream, StreamState{std::string(session), Cursor{}, 1, DedupWindow(m_window), true, std::nullopt, false});
  m_by_session.emplace(std::string(session), stream);
}

void EventTracker::restore_stream(StreamNo stream, std::string_view session, Seq next_seq, Cursor cursor,
                                  std::span<const std::string> recent_ids) {
  remove_stream(stream);
  add_stream(stream, session);
  StreamState& s = state(stream);
  s.next_seq = next_seq == 0 ? 1 : next_seq;
  for (const std::string& id : recent_ids) {
    if (!id.empty()) enter(s, id, nullptr);
  }
  s.cursor = std::move(cursor);
}

void EventTracker::remove_stream(StreamNo stream) {
  auto it = m_streams.find(stream);
  if (it == m_streams.end()) return;
  auto range = m_by_session.equal_range(it->second.session);
  for (auto s = range.first; s != range.second; ++s) {
    if (s->second == stream) {
      m_by_session.erase(s);
      break;
    }
  }
  m_streams.erase(it);
}

void EventTracker::remove_session(std::string_view session) {
  for (StreamNo stream : streams_of(session)) remove_stream(stream);
}

bool EventTracker::has_stream(StreamNo stream) const { return m_streams.count(stream) != 0; }

EventTracker::StreamState& EventTracker::state(StreamNo stream) { return m_streams.at(stream); }

bool EventTracker::enter(StreamState& s, std::string_view id, Observation* obs) {
  const std::optional<std::uint64_t> n = s.numeric_run ? decimal(id) : std::nullopt;
  if (n && s.last_numeric && *n > *s.last_numeric) {
    s.window.insert_fresh(id);  // above the run: not in the window (event_tracker.h)
  } else if (!s.window.insert(id)) {
    return false;
  }
  track_numeric(s, n, obs);
  return true;
}

void EventTracker::track_numeric(StreamState& s, std::optional<std::uint64_t> n, Observation* obs) {
  if (!s.numeric_run) return;
  if (!n) {
    s.numeric_run = false;  // opaque ids: nothing is guessed from now on
    return;
  }
  if (s.last_numeric && *n != *s.last_numeric + 1) {
    if (obs != nullptr && s.reconnected && *n > *s.last_numeric + 1) {
      obs->gap = *n - *s.last_numeric - 1;
      s.last_numeric = n;
      return;  // a jump right after a reconnect is a gap; the run goes on from here
    }
    s.numeric_run = false;
    return;
  }
  s.last_numeric = n;
}

Observation EventTracker::observe(StreamNo stream, std::optional<std::string_view> upstream_id) {
  StreamState& s = state(stream);
  Observation obs;
  if (upstream_id && !upstream_id->empty()) {
    if (!enter(s, *upstream_id, &obs)) {
      obs.verdict = Verdict::duplicate;
      return obs;
    }
    remember_id(s.cursor, *upstream_id);
  } else if (upstream_id) {
    s.cursor.last_upstream_id.reset();  // an empty id resets the cursor (WHATWG)
  }
  s.reconnected = false;
  obs.seq = s.next_seq++;
  return obs;
}

Verdict EventTracker::observe_id_only(StreamNo stream, std::string_view upstream_id) {
  StreamState& s = state(stream);
  if (upstream_id.empty()) {
    s.cursor.last_upstream_id.reset();
    return Verdict::fresh;
  }
  Observation ignored;
  if (!enter(s, upstream_id, s.reconnected ? &ignored : nullptr)) return Verdict::duplicate;
  remember_id(s.cursor, upstream_id);
  return Verdict::fresh;
}

void EventTracker::note_retry(StreamNo stream, std::uint32_t retry_ms) { state(stream).cursor.retry_ms = retry_ms; }

void EventTracker::note_reconnect(StreamNo stream) { state(stream).reconnected = true; }

const Cursor* EventTracker::cursor(StreamNo stream) const {
  auto it = m_streams.find(stream);
  return it == m_streams.end() ? nullptr : &it->second.cursor;
}

Seq EventTracker::next_seq(StreamNo stream) const {
  auto it = m_streams.find(stream);
  return it == m_streams.end() ? 0 : it->second.next_seq;
}

std::optional<std::string_view> EventTracker::session_of(StreamNo stream) const {
  auto it = m_streams.find(stream);
  if (it == m_streams.end()) return std::nullopt;
  return std::string_view(it->second.session);
}

std::vector<StreamNo> EventTracker::streams_of(std::string_view session) const {
  std::vector<StreamNo> out;
  auto range = m_by_session.equal_range(std::string(session));
  for (auto it = range.first; it != range.second; ++it) out.push_back(it->second);
  return out;
}

util::Result<void> EventTracker::check_resume(std::string_view session, DownstreamId id, ResolveError* why) const {
  auto fail = [&](ResolveError reason) -> util::Result<void> {
    if (why != nullptr) *why = reason;
    // One message for all reasons: another session's ids must not be probed.
    return util::fail(util::Errc::bad_event_id,
                      "no event " + format_downstream_id(id) + " in this session's streams");
  };
  auto it = m_streams.find(id.stream);
  if (it == m_streams.end()) return fail(ResolveError::unknown_stream);
  if (it->second.session != session) return fail(ResolveError::foreign_session);
  if (id.seq >= it->second.next_seq) return fail(ResolveError::seq_ahead);
  return util::ok();
}

}  // namespace ssestitch::tracker
