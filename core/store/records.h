#pragma once
// What the SessionStore holds: sessions, streams (with their cursors) and events.
// Never credentials: no Authorization values, cookies or tokens. A session's `principal` is a
// one-way digest of the client's bearer token (or empty), used only to refuse a session id or
// Last-Event-ID presented by another principal.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssestitch::store {

enum class SessionState : std::uint8_t { open = 1, closed = 2, expired = 3 };
// tape: a session's recorded messages (proxy/recorder.h), not an SSE stream: its events are
// tape::ndjson_line() lines; nothing reconnects it (format version 2).
enum class StreamKind : std::uint8_t { post = 1, get = 2, generic = 3, tape = 4 };
enum class StreamState : std::uint8_t { open = 1, completed = 2, abandoned = 3 };

// Stable names used by inspect's --json output: "open", "closed", "expired", "post", "get",
// "generic", "tape", "completed", "abandoned".
std::string_view to_string(SessionState s) noexcept;
std::string_view to_string(StreamKind k) noexcept;
std::string_view to_string(StreamState s) noexcept;

// The longest session id (ours or an upstream's) the proxy accepts and the store keeps: LMDB
// keys are at most 511 bytes and the session index key adds 9 to the id; proxy-minted ids are
// 32 characters, so 255 never refuses a real one. The one bound: tracker::validate_session_id
// refuses longer ids at the edge, the store's batch check refuses them at the writer.
inline constexpr std::size_t k_max_session_id_bytes = 255;

struct SessionRecord {
  std::string id;                // proxy-minted session id (what clients see)
  std::string upstream_id;       // the upstream's Mcp-Session-Id
  std::string protocol_version;  // negotiated MCP-Protocol-Version ("" if unknown)
  std::string principal;         // digest of the client's token, "" without --require-token
  std::int64_t created_ms = 0;
  std::int64_t last_active_ms = 0;
  SessionState state = SessionState::open;
};

// Counters the store maintains itself as events are appended and evicted. Values in a
// StreamRecord passed to submit() are ignored: the writer keeps its own.
struct Retained {
  std::uint64_t first_seq = 0;    // oldest retained seq (0: no event retained)
  std::uint64_t events = 0;       // retained events
  std::uint64_t bytes = 0;        // retained bytes (upstream id + type + data)
  std::uint64_t evicted = 0;      // events removed by retention so far
};

struct StreamRecord {
  std::uint64_t stream = 0;          // store-unique stream number (>= 1)
  std::string session;               // owning session id ("" for generic / sessionless streams)
  std::string principal;             // digest of the client's token for sessionless streams
  StreamKind kind = StreamKind::generic;
  std::string target;                // request target sent upstream (path and query)
  std::string upstream_last_id;      // cursor: last upstream event id ("" when none)
  bool has_upstream_id = false;      // distinguishes "no id seen" from an id that is ""
  std::uint32_t retry_ms = 0;        // last `retry:` (0: none seen)
  std::uint64_t next_seq = 1;        // next seq the proxy will assign
  StreamState state = StreamState::open;
  std::int64_t created_ms = 0;
  std::int64_t last_active_ms = 0;
  std::vector<std::string> pending_request_ids;  // JSON-RPC ids (canonical JSON text) of a POST
                                                 // stream still waiting for their responses
  Retained retained;                 // maintained by the store
};

struct EventRecord {
  std::uint64_t stream = 0;
  std::uint64_t seq = 0;             // >= 1, strictly increasing per stream
  std::string upstream_id;           // the upstream's id for this event ("" if it had none)
  std::string type;                  // SSE event type ("" = message)
  std::string data;
  std::int64_t arrival_ms = 0;       // wall clock when the proxy received it
};

// The bytes of an event that Retained::bytes counts: upstream id, type and data.
inline std::uint64_t payload_bytes(std::string_view upstream_id, std::string_view type,
                                   std::string_view data) noexcept {
  return upstream_id.size() + type.size() + data.size();
}
inline std::uint64_t payload_bytes(const EventRecord& ev) noexcept {
  return payload_bytes(ev.upstream_id, ev.type, ev.data);
}

// What storing `ev` does to its stream's record, in every SessionStore: created_ms at the first
// arrival, the retained counters (first_seq, events, bytes), next_seq beyond the event,
// last_active_ms to the latest arrival and, when the event has an upstream id, the cursor.
void advance(StreamRecord& rec, const EventRecord& ev);
// What storing the record `update` does to the stored `rec` (`existed`: there was one), in every
// SessionStore: it replaces it, except for the retained counters, which only events change,
// and last_active_ms, which never moves back.
void upsert(StreamRecord& rec, const StreamRecord& update, bool existed);

// A borrowed view of an event, valid only during the scan callback that receives it.
struct EventView {
  std::uint64_t stream = 0;
  std::uint64_t seq = 0;
  std::string_view upstream_id;
  std::string_view type;
  std::string_view data;
  std::int64_t arrival_ms = 0;
};

// One unit of writing: everything in it commits in the same transaction, so an event and the
// stream record whose cursor it advances are never seen apart.
struct Batch {
  std::vector<SessionRecord> sessions;  // upserts
  std::vector<StreamRecord> streams;    // upserts (retained counters ignored)
  std::vector<EventRecord> events;      // appends; seq must be beyond the stream's stored events
  // A hint, not data: the producer has more input waiting (an upstream it is behind), so it
  // prefers reading on to waiting for this commit. LmdbStore then commits it on its writer
  // thread instead of the caller's (lmdb_writer.h); the other stores ignore it.
  bool backlog = false;

  bool empty() const noexcept { return sessions.empty() && streams.empty() && events.empty(); }
  // Approximate payload bytes, for queue bounds.
  std::size_t bytes() const noexcept;
};

}  // namespace ssestitch::store
