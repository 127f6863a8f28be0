#pragma once
// SessionStore: the durable half of the core (DESIGN.md "SessionStore"). The proxy, `inspect`
// and `replay` use only this interface; LmdbStore is the embedded default, RedisStore shares
// sessions and logs between several proxies, MemoryStore backs `proxy --no-store` and unit
// tests.
//
// Threads: submit() may be called from any one thread (the proxy's loop); reads may be called
// from any thread and never block the writer. Commit callbacks run inline inside submit()
// (MemoryStore; LmdbStore when its writer is idle and the sync mode does not fsync per
// commit), or on the store's writer thread: callers that need their own thread must post from
// the callback, and must not call back into the store from it. Whichever thread runs them,
// callbacks run in submission order; a caller that posts some of them to its own thread may
// see a later batch's notification before an earlier one's, but a batch's commit implies that
// every batch submitted before it has committed.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/loop_watch.h"
#include "core/store/records.h"
#include "core/util/function_ref.h"
#include "core/util/result.h"

namespace ssestitch::store {

enum class SyncMode { always, batch, none };
// "always" | "batch" | "none" (invalid_argument otherwise).
util::Result<SyncMode> parse_sync_mode(std::string_view s);
std::string_view to_string(SyncMode m) noexcept;

struct Retention {
  std::uint64_t max_events_per_stream = 100'000;  // 0 = unlimited
  std::uint64_t max_bytes_per_stream = 64u << 20; // 0 = unlimited
  std::int64_t max_age_ms = 24LL * 3600 * 1000;   // 0 = unlimited
  std::uint64_t store_max_bytes = 1ULL << 30;     // whole store (LMDB map ceiling)
  // Closed / expired sessions and completed / abandoned streams idle this long are deleted
  // with their events. 0 = never.
  std::int64_t idle_ttl_ms = 24LL * 3600 * 1000;
};

struct StoreStats {
  std::uint32_t format_version = 0;
  std::uint64_t file_bytes = 0;        // bytes in use (pages used x page size)
  std::uint64_t map_bytes = 0;         // current map size
  std::uint64_t max_bytes = 0;         // --store-max
  std::uint64_t sessions = 0;
  std::uint64_t streams = 0;
  std::uint64_t events = 0;
  std::int64_t oldest_event_ms = 0;    // 0 when there are no events
  std::int64_t newest_event_ms = 0;
  std::int64_t last_commit_ms = 0;     // 0 when nothing was ever committed; to 1 s (LMDB)
};

// Counters for /metrics; read with relaxed atomics, monotonic except `degraded`.
struct StoreMetrics {
  static constexpr int k_latency_buckets = 12;  // upper bounds: 50us,100us,250us,500us,1ms,2.5ms,
                                                // 5ms,10ms,25ms,50ms,100ms,+Inf
  static constexpr double k_bucket_bounds_s[k_latency_buckets - 1] = {
      50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3};
  std::uint64_t commits = 0;
  std::uint64_t commit_latency_buckets[k_latency_buckets] = {};  // non-cumulative counts
  double commit_latency_sum_s = 0;
  std::uint64_t events_written = 0;
  std::uint64_t events_evicted = 0;
  std::uint64_t write_errors = 0;
  std::uint64_t queue_full = 0;
  std::uint64_t syncs = 0;             // fsyncs outside a commit (--sync batch, and at close)
  bool degraded = false;               // the last commit failed (e.g. store_full)
  std::string last_error;              // message of the last failed commit ("" if none)
};

// Counts one commit of `ns` nanoseconds in `m` (latency histogram and sum).
void record_commit_latency(StoreMetrics& m, std::int64_t ns) noexcept;

// Delivered to a commit callback.
struct CommitInfo {
  std::int64_t commit_ns = 0;   // how long the transaction (and any fsync) took
  // Streams another writer took over (RedisStore's fencing): what the batch held of them was
  // not written, the rest was. Always empty for a store one process owns.
  std::vector<std::uint64_t> fenced;
};
using CommitCallback = std::function<void(const util::Result<CommitInfo>&)>;

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Queues `batch`; `done` is called exactly once after the transaction holding it commits or
  // fails (store_full, store_corrupt, io_error). Group commit may put several batches in one
  // transaction; callbacks still run in submission order. Errors returned here mean the batch
  // was not queued and `done` will not be called: store_queue_full (retry after the next
  // commit), store_closed, invalid_argument (event seq not increasing within the batch).
  // A stored event advances its stream's record: next_seq beyond it, last_active_ms to its
  // arrival, and, when it has an upstream id, the cursor (upstream_last_id) to that id.
  virtual util::Result<void> submit(Batch batch, CommitCallback done) = 0;
  // Blocks until every batch submitted before the call has committed and, for SyncMode always or
  // batch, been synced to disk. Not for the loop thread except at shutdown.
  virtual util::Result<void> flush() = 0;

  // Returns a number never used for a stream of this store before (>= 1). Thread-safe.
  virtual std::uint64_t allocate_stream_number() = 0;
  // For stores several proxies write (RedisStore): makes this process the writer of `stream` if
  // the process that wrote it is gone, and says whether this process may write it now (false
  // while that writer lives, or on a read-only store). A store one process owns returns true.
  virtual util::Result<bool> claim(std::uint64_t stream) {
    (void)stream;
    return true;
  }
  // Lets the store do its I/O on the caller's event loop (loop_watch.h); called on that loop's
  // thread, whose submit()s may then commit there. An empty `make` detaches (before the loop
  // goes away). Stores without network I/O ignore it.
  virtual void attach_loop(LoopWatchFactory make) { (void)make; }

  virtual util::Result<std::optional<SessionRecord>> session(std::string_view id) const = 0;
  virtual util::Result<std::optional<StreamRecord>> stream(std::uint64_t stream) const = 0;
  // All sessions, ordered by id.
  virtual util::Result<std::vector<SessionRecord>> sessions() const = 0;
  // All streams, or those of `session`, ordered by stream number.
  virtual util::Result<std::vector<StreamRecord>> streams(
      std::optional<std::string_view> session = std::nullopt) const = 0;
  // Calls `visit` for the events of `stream` with seq > after_seq, in seq order, until `visit`
  // returns false, `limit` events were visited or `max_bytes` of data were visited (at least one
  // event is always visited if any is left). One read transaction, one cursor range scan.
  // Returns the number of events visited.
  virtual util::Result<std::size_t> scan_events(std::uint64_t stream, std::uint64_t after_seq,
                                                std::size_t limit, std::size_t max_bytes,
                                                util::FunctionRef<bool(const EventView&)> visit) const = 0;
  virtual util::Result<StoreStats> stats() const = 0;
  virtual StoreMetrics metrics() const = 0;

  // Convenience over scan_events: copies up to `limit` events after `after_seq`.
  util::Result<std::vector<EventRecord>> events(std::uint64_t stream, std::uint64_t after_seq,
                                                std::size_t limit) const;
};

}  // namespace ssestitch::store
