#pragma once
// EventTracker: the single owner of event-id state (DESIGN.md "Core concepts").
//
// Sessions own streams; per stream it keeps the upstream cursor (last upstream id, last retry),
// the next proxy sequence number, and a bounded dedup window of upstream ids. observe() is one
// test-and-insert: a fresh event gets the next seq and advances the cursor, a duplicate changes
// nothing. Upstream ids are opaque; the tracker never derives order from them, except for the
// optional gap report: while a stream's ids have all been decimal and consecutive (n, n+1, ...),
// the first fresh id after a reconnect that jumps ahead reports the size of the jump. With
// other ids nothing is guessed. The same run spares the dedup window its lookup: an id whose
// number is above the run's last cannot be in the window (every id there is a smaller number of
// the run), so it is entered with DedupWindow::insert_fresh; any other id is looked up.
//
// Dedup is per stream: the same upstream id on two different streams is two events (MCP allows
// ids unique per stream only in practice, and routing is per stream).
//
// Not thread-safe: owned by the proxy's loop thread. Rebuilt from the SessionStore on restart
// with restore_stream().

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/tracker/dedup_window.h"
#include "core/tracker/downstream_id.h"
#include "core/util/result.h"

namespace ssestitch::tracker {

struct Cursor {
  std::optional<std::string> last_upstream_id;  // nullopt: no id seen (or reset by an empty id)
  std::optional<std::uint32_t> retry_ms;        // last `retry:` seen on the stream
};

enum class Verdict { fresh, duplicate };

struct Observation {
  Verdict verdict = Verdict::fresh;
  Seq seq = 0;                     // the seq assigned to a fresh event; 0 for a duplicate
  std::optional<std::uint64_t> gap;  // ids skipped by the upstream after a reconnect, when known
};

// Why a downstream id cannot be resumed in a given session.
enum class ResolveError { unknown_stream, foreign_session, seq_ahead };

class EventTracker {
 public:
  static constexpr std::size_t k_default_window = 1000;
  explicit EventTracker(std::size_t dedup_window = k_default_window);

  // Starts tracking stream `stream` of `session` ("" for sessionless streams); the first fresh
  // event gets seq 1. Re-adding a known stream is a no-op.
  void add_stream(StreamNo stream, std::string_view session);
  // Restores a stream after a restart: `next_seq` is the next seq to assign, `cursor` the stored
  // cursor, `recent_ids` the upstream ids of its newest events, oldest first (refills the window).
  void restore_stream(StreamNo stream, std::string_view session, Seq next_seq, Cursor cursor,
                      std::span<const std::string> recent_ids);
  // Forgets a stream (completed, abandoned or evicted).
  void remove_stream(StreamNo stream);
  // Forgets every stream of `session`.
  void remove_session(std::string_view session);

  bool has_stream(StreamNo stream) const;

  // Test-and-insert for an event (a block with data) arriving on a tracked stream. `upstream_id`
  // is the block's own id field (nullopt when it had none; "" resets the cursor and is never a
  // duplicate). Precondition: has_stream(stream).
  Observation observe(StreamNo stream, std::optional<std::string_view> upstream_id);
  // A block without data but with an id (e.g. an MCP 2025-11-25 priming event): moves the cursor
  // and enters the id into the window, assigns no seq. Returns duplicate when already seen.
  Verdict observe_id_only(StreamNo stream, std::string_view upstream_id);
  // Records a `retry:` value for the stream.
  void note_retry(StreamNo stream, std::uint32_t retry_ms);
  // Marks that the upstream connection was re-established: the next fresh numeric id may
  // report a gap.
  void note_reconnect(StreamNo stream);

  // The stream's cursor; nullptr when the stream is unknown.
  const Cursor* cursor(StreamNo stream) const;
  // The seq the next fresh event will get; 0 when the stream is unknown.
  Seq next_seq(StreamNo stream) const;
  // The session that owns `stream`; nullopt when the stream is unknown.
  std::optional<std::string_view> session_of(StreamNo stream) const;
  // Streams of `session`, in no particular order.
  std::vector<StreamNo> streams_of(std::string_view session) const;

  // Checks that `id` names a stream of `session` and a seq not beyond what was assigned.
  util::Result<void> check_resume(std::string_view session, DownstreamId id,
                                  ResolveError* why = nullptr) const;

  std::size_t stream_count() const noexcept { return m_streams.size(); }

 private:
  struct StreamState {
    std::string session;
    Cursor cursor;
    Seq next_seq = 1;
    DedupWindow window;
    bool numeric_run = true;         // every id so far was decimal and consecutive
    std::optional<std::uint64_t> last_numeric;
    bool reconnected = false;
  };

  StreamState& state(StreamNo stream);
  // Enters `id` (non-empty) into the window and the numeric run; false, changing nothing, when
  // it is a duplicate. `obs`: where a gap after a reconnect is reported (nullptr: not reported).
  bool enter(StreamState& s, std::string_view id, Observation* obs);
  // `n`: the id's decimal value, nullopt when it is not a decimal number.
  void track_numeric(StreamState& s, std::optional<std::uint64_t> n, Observation* obs);

  std::size_t m_window;
  std::unordered_map<StreamNo, StreamState> m_streams;
  std::unordered_multimap<std::string, StreamNo> m_by_session;
};

}  // namespace ssestitch::tracker
