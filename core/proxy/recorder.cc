#include "core/proxy/recorder.h"

#include <algorithm>

#include "core/proxy/commit_pipeline.h"
#include "core/store/session_store.h"
#include "core/util/clock.h"

namespace ssestitch::proxy {

void Recorder::observe(const Observed& observed) noexcept {
  if (m_mode == Mode::off) return;
  const tape::Message& m = observed.message();
  try {
    if (m.stream != 0 && m.seq != 0) {  // an event the log keeps: merged in by inspect
      // (an initialize answered by SSE: its answer names the session here)
      if (!m_held.empty() && !m.session.empty()) flush_held(m.session, observed.summary().id);
      return;
    }
    const tape::Summary& summary = observed.summary();
    std::string line = tape::ndjson_line(m, summary, m_latencies, m_mode == Mode::full);
    line.pop_back();  // the LF
    if (m.direction == tape::Direction::to_server && m.session.empty() && summary.method == "initialize") {
      if (m_held.size() >= k_max_held) {
        record({}, std::move(m_held.front().line), m_held.front().time_ms);
        m_held.pop_front();
      }
      m_held.push_back(Held{summary.id, std::move(line), m.time_ms});
      return;
    }
    if (m.direction == tape::Direction::to_client && !summary.id.empty()) flush_held(m.session, summary.id);
    record(m.session, std::move(line), m.time_ms);
  } catch (...) {
    // Out of memory for one line: that message is not recorded; forwarding goes on.
  }
}

// The answer to a held initialize came: the request goes first, in the answer's session.
void Recorder::flush_held(std::string_view session, std::string_view id) {
  auto it = std::find_if(m_held.begin(), m_held.end(), [&](const Held& h) { return h.id == id; });
  if (it == m_held.end()) return;
  Held held = std::move(*it);
  m_held.erase(it);
  record(session, std::move(held.line), held.time_ms);
}

void Recorder::record(std::string_view session, std::string line, std::int64_t time_ms) {
  auto it = m_tapes.find(std::string(session));
  if (it == m_tapes.end()) {
    if (m_tapes.size() >= k_max_tapes) {
      std::erase_if(m_tapes, [this](const auto& kv) {
        if (kv.second.ended) m_sessions.erase(kv.second.record.stream);
        return kv.second.ended;
      });
    }
    Tape t;
    t.record.stream = m_ctx.store->allocate_stream_number();
    t.record.session = std::string(session);
    t.record.kind = store::StreamKind::tape;
    t.record.state = store::StreamState::open;
    t.record.created_ms = time_ms;
    t.record.last_active_ms = time_ms;
    m_sessions.emplace(t.record.stream, std::string(session));
    it = m_tapes.emplace(std::string(session), std::move(t)).first;
  }
  store::StreamRecord& rec = it->second.record;
  const bool first = rec.next_seq == 1;
  store::EventRecord ev;
  ev.stream = rec.stream;
  ev.seq = rec.next_seq++;
  ev.data = std::move(line);
  ev.arrival_ms = time_ms;
  m_ctx.pipeline->add_event(std::move(ev));
  // The record goes with the first event (snapshot() when the batch is built: its next_seq
  // then covers every event in the batch), and again after the end (state completed).
  if (first || it->second.ended) m_ctx.pipeline->mark_dirty(rec.stream);
}

std::optional<store::StreamRecord> Recorder::snapshot(std::uint64_t stream) const {
  auto s = m_sessions.find(stream);
  if (s == m_sessions.end()) return std::nullopt;
  auto t = m_tapes.find(s->second);
  if (t == m_tapes.end()) return std::nullopt;
  return t->second.record;
}

void Recorder::session_ended(std::string_view session) noexcept {
  auto it = m_tapes.find(std::string(session));
  if (it == m_tapes.end()) return;
  Tape& t = it->second;
  t.ended = true;
  t.record.state = store::StreamState::completed;
  t.record.last_active_ms = m_ctx.clock->wall_ms();
  m_ctx.pipeline->mark_dirty(t.record.stream);
}

}  // namespace ssestitch::proxy
