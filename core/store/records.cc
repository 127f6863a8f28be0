#include "core/store/records.h"

#include <algorithm>

namespace ssestitch::store {

void upsert(StreamRecord& rec, const StreamRecord& update, bool existed) {
  const Retained kept = rec.retained;
  const std::int64_t last_active = existed ? std::max(rec.last_active_ms, update.last_active_ms) : update.last_active_ms;
  rec = update;
  rec.retained = kept;
  rec.last_active_ms = last_active;
}

void advance(StreamRecord& rec, const EventRecord& ev) {
  if (rec.created_ms == 0) rec.created_ms = ev.arrival_ms;
  Retained& r = rec.retained;
  if (r.events == 0) r.first_seq = ev.seq;
  ++r.events;
  r.bytes += payload_bytes(ev);
  rec.next_seq = std::max(rec.next_seq, ev.seq + 1);
  rec.last_active_ms = std::max(rec.last_active_ms, ev.arrival_ms);
  if (!ev.upstream_id.empty()) {
    rec.upstream_last_id = ev.upstream_id;
    rec.has_upstream_id = true;
  }
}

std::string_view to_string(SessionState s) noexcept {
  switch (s) {
    case SessionState::open: return "open";
    case SessionState::closed: return "closed";
    case SessionState::expired: return "expired";
  }
  return "unknown";
}

std::string_view to_string(StreamKind k) noexcept {
  switch (k) {
    case StreamKind::post: return "post";
    case StreamKind::get: return "get";
    case StreamKind::generic: return "generic";
    case StreamKind::tape: return "tape";
  }
  return "unknown";
}

std::string_view to_string(StreamState s) noexcept {
  switch (s) {
    case StreamState::open: return "open";
    case StreamState::completed: return "completed";
    case StreamState::abandoned: return "abandoned";
  }
  return "unknown";
}

std::size_t Batch::bytes() const noexcept {
  // Strings plus a fixed allowance per record for the fields and container overhead, so a
  // batch of many empty events still counts against the queue bound.
  constexpr std::size_t k_record_overhead = 64;
  std::size_t n = 0;
  for (const SessionRecord& s : sessions) {
    n += k_record_overhead + s.id.size() + s.upstream_id.size() + s.protocol_version.size() +
         s.principal.size();
  }
  for (const StreamRecord& s : streams) {
    n += k_record_overhead + s.session.size() + s.principal.size() + s.target.size() +
         s.upstream_last_id.size();
    for (const std::string& id : s.pending_request_ids) n += 16 + id.size();
  }
  for (const EventRecord& e : events) {
    n += k_record_overhead + e.upstream_id.size() + e.type.size() + e.data.size();
  }
  return n;
}

}  // namespace ssestitch::store
