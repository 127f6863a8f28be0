#pragma once
// lmdb::Writer: LmdbStore's writer thread. Private to core/store.
//
// The problem: the proxy's loop must never wait for storage, yet an event may reach a client
// only after the transaction logging it has committed, and an event and the stream cursor it
// advances must commit together. LMDB allows one write transaction at a time and each commit
// costs a page flush (and, with SyncMode::always, an fsync), so per-event transactions would cap
// throughput at the commit rate.
//
// The approach: submit() appends the batch to a queue bounded by bytes and wakes this thread,
// which takes everything queued and applies it in ONE write transaction (group commit), then
// calls the callbacks in submission order. Inside a transaction, batches apply in order and
// within a batch: sessions, then events, then stream records, so a batch that carries events
// 10..12 and the record with next_seq 13 is accepted whatever the stored state was.
//
// The writer keeps every stream record of the store in memory (std::map by stream number):
// it needs each touched stream's stored next_seq, newest event seq and Retained counters to
// enforce "writes only move forward" and to maintain Retained without a read-decode-encode per
// event, and it needs streams ordered by last activity for store-level eviction. Changes made
// during a transaction are recorded in an undo log and rolled back if the transaction aborts
// (MDB_MAP_FULL, I/O error), so the cache always equals the committed state. This assumes the
// writer is the only writer of the store, which ssestitch.lock guarantees for exclusive opens.
//
// Events are written with MDB_RESERVE (the value is encoded straight into the page) and with
// MDB_APPEND when the key is beyond the last key of the events database (always the case for a
// single active stream, and for the newest of several); otherwise a plain put.
//
// Retention runs in the same transactions, with a bounded number of deletions per transaction:
// the streams touched by a transaction are trimmed to their count / bytes / age limits; once per
// maintenance interval (1 s of the store's clock) a rotating window of streams and sessions is
// checked for age and idle_ttl; doomed streams and sessions are deleted a chunk at a time; and
// when the live pages pass 90% of store_max_bytes the least recently active streams lose their
// oldest events. Rejected: a periodic full pass (stop-the-world at large stores), and a
// separate maintenance thread (LMDB has one writer at a time anyway).
//
// The map grows (doubling, up to store_max_bytes) between transactions when it is 75% used or a
// transaction hit MDB_MAP_FULL; mdb_env_set_mapsize runs under Env::gate() held exclusively.

#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/store/lmdb_codec.h"
#include "core/store/lmdb_env.h"
#include "core/store/lmdb_store.h"

namespace ssestitch::store::lmdb {

class Writer {
 public:
  // Loads the stream records of `env` and starts the thread. `next_stream` is raised past any
  // stream number a batch uses. Errors: store_corrupt (a record fails to decode), io_error.
  static util::Result<std::unique_ptr<Writer>> start(Env& env, const LmdbOptions& options,
                                                     std::atomic<std::uint64_t>& next_stream);
  // Commits everything queued, syncs (every mode), stops the thread.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // See SessionStore::submit / flush.
  util::Result<void> submit(Batch batch, CommitCallback done);
  // The fast path of LmdbStore::submit: when the sync mode does not fsync per commit, nothing
  // is queued and no transaction is running, commits `batch` on the calling thread and calls
  // `done` there, before returning true. Otherwise returns false and leaves both untouched (the
  // caller queues them with submit()). This saves the two thread hand-offs of the queue (tens
  // of microseconds on a busy VM) when the store keeps up; a commit without fsync only writes
  // to the page cache, so the caller never waits for the disk.
  bool try_commit_inline(Batch& batch, CommitCallback& done);
  util::Result<void> flush();
  StoreMetrics metrics() const;

 private:
  struct Pending {
    Batch batch;
    CommitCallback done;
    std::size_t bytes = 0;
    std::uint64_t ticket = 0;
  };
  struct StreamEntry {
    StreamRecord rec;
    std::uint64_t last_seq = 0;  // newest event seq ever stored (writes only move forward)
    bool dirty = false;          // the record must be written in the current transaction
    // Not stored: a lower bound for the arrival of its oldest retained event, read when
    // trim_stream last looked. While it is within the age limit, trim_stream need not seek
    // to that event (events leave from the front, so the bound only rises; a wall clock set
    // back can make it too high, which delays an age trim by at most the step).
    std::int64_t oldest_arrival_ms = LLONG_MIN;
  };
  // Scratch of one write transaction.
  struct Txn {
    MDB_txn* txn = nullptr;
    MDB_cursor* events = nullptr;
    codec::EventKey tail{};  // largest key of the events database (valid if has_tail)
    bool has_tail = false;
    std::int64_t now_ms = 0;
    std::vector<std::uint64_t> dirty;
    std::uint64_t events_written = 0;
    std::uint64_t events_evicted = 0;
    std::size_t trim_budget = 0;
    std::vector<std::uint64_t> finished_streams;  // doomed streams fully deleted here
    std::vector<std::string> finished_sessions;
    std::vector<std::string> notices;  // writes skipped as stale, logged after commit
    std::size_t stale = 0;
    bool committed = false;
    const char* failed_call = "";
  };
  // advance: a transaction that only writes last_commit_ms. LMDB reuses a page from the second
  // transaction after the one that freed it (mdb_find_oldest), so after an eviction one more
  // small commit lets the next transaction use what the eviction freed.
  enum class Work { batches, maintenance, evict, advance };

  Writer(Env& env, const LmdbOptions& options, std::atomic<std::uint64_t>& next_stream);
  util::Result<void> load();
  void run() noexcept;
  bool process_group(std::vector<Pending>& group);
  util::Result<CommitInfo> commit_batches(std::span<Pending*> batches);
  // One write transaction; returns 0 or the LMDB code of the first failure (ts.failed_call).
  int run_txn(std::span<Pending*> batches, Work work, Txn& ts);
  int apply(Txn& ts, const Batch& batch);
  int put_event(Txn& ts, const EventRecord& ev);
  int put_stream(Txn& ts, const StreamRecord& rec);
  int write_dirty(Txn& ts);
  void rollback() noexcept;
  void settle(Txn& ts);
  bool grow_map(bool after_map_full);
  void fail_metrics(const util::Error& e);

  // Cache access with undo logging.
  StreamEntry* find(std::uint64_t stream);
  StreamEntry& touch(Txn& ts, std::uint64_t stream);  // must exist
  StreamEntry& touch_or_create(Txn& ts, std::uint64_t stream);
  void erase(Txn& ts, std::uint64_t stream);
  void mark_dirty(Txn& ts, StreamEntry& e);

  // Retention (lmdb_retention.cc). Each returns 0 or an LMDB code (ts.failed_call set).
  int trim_stream(Txn& ts, std::uint64_t stream, std::uint64_t free_bytes, std::uint64_t* freed);
  int trim_touched(Txn& ts);
  int maintenance_step(Txn& ts);
  int doom_session(Txn& ts, std::string_view session);
  int delete_doomed(Txn& ts);
  int evict_for_store(Txn& ts, bool after_map_full);
  std::uint64_t live_bytes(MDB_txn* txn) const;

  Env& m_env;
  const LmdbOptions m_options;
  const util::Clock& m_clock;
  std::atomic<std::uint64_t>& m_next_stream;
  // store_max_bytes rounded down to whole pages; lowered to the map size when the disk cannot
  // hold a larger map.
  std::uint64_t m_store_max = 0;

  // Held by whoever runs a write transaction or touches the stream cache: the writer thread,
  // or a caller committing inline. Never held during an fsync.
  std::mutex m_txn_mutex;
  // Reused by every transaction (m_txn_mutex), so that an inline commit allocates nothing here.
  std::vector<Pending> m_inline_group;
  std::vector<Pending*> m_group_ptrs;

  // Queue (m_mutex).
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::condition_variable m_progress;
  std::vector<Pending> m_queue;
  std::size_t m_queued_bytes = 0;  // queued + being committed
  std::uint64_t m_next_ticket = 1;
  std::uint64_t m_done_ticket = 0;    // every ticket <= this has had its callback called
  std::uint64_t m_synced_ticket = 0;  // ... and was synced (batch / always)
  bool m_sync_requested = false;
  bool m_stopping = false;
  int m_progress_waiters = 0;  // threads in flush(), waiting on m_progress
  std::uint64_t m_commit_gen = 0;  // commits so far (writer and inline)
  std::uint64_t m_synced_gen = 0;  // m_commit_gen covered by the last sync
  util::Error m_sync_error;
  bool m_sync_failed = false;

  // Metrics (m_metrics_mutex).
  mutable std::mutex m_metrics_mutex;
  StoreMetrics m_metrics;

  // Writer-thread state.
  std::map<std::uint64_t, StreamEntry> m_streams;
  std::unordered_map<std::uint64_t, std::optional<StreamEntry>> m_undo;
  std::set<std::pair<std::int64_t, std::uint64_t>> m_lru;  // (last_active_ms, stream), events > 0
  std::set<std::uint64_t> m_doomed_streams;
  std::set<std::string> m_doomed_sessions;
  std::uint64_t m_rotation_stream = 0;
  std::string m_rotation_session;
  std::int64_t m_next_maintenance_ns = 0;
  std::int64_t m_next_evict_log_ns = 0;
  // The largest event key ever committed, so that a transaction need not look up the last key
  // (MDB_LAST) to decide on MDB_APPEND. Deletions and aborted transactions can leave it above
  // the real last key, never below (the writer is the only writer): a key between the two is
  // then put without MDB_APPEND, which is only slower.
  std::optional<codec::EventKey> m_tail;
  bool m_tail_read = false;  // m_tail was read from the store once
  std::int64_t m_stamped_ms = LLONG_MIN / 2;  // last_commit_ms last written (committed)
  std::string m_scratch;  // reused encode buffer

  std::thread m_thread;  // last: started after everything above is initialised
};

}  // namespace ssestitch::store::lmdb
