#pragma once
// lmdb::Committer: what one group commit does inside LMDB, for lmdb::Writer (the queue and its
// thread, lmdb_writer.h). Private to core/store. Not thread-safe: the Writer calls it under its
// transaction mutex, from its thread or from a caller committing inline.
//
// A group of batches is applied in ONE write transaction. Inside it, batches apply in order and
// within a batch: sessions, then events, then stream records, so a batch that carries events
// 10..12 and the record with next_seq 13 is accepted whatever the stored state was; writes that
// would move a stream backwards are skipped and logged (stale). Every stream record lives in
// memory too (StreamCache, lmdb_stream_cache.h), rolled back with a transaction that aborts.
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
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/store/lmdb_codec.h"
#include "core/store/lmdb_env.h"
#include "core/store/lmdb_journal.h"
#include "core/store/lmdb_options.h"
#include "core/store/lmdb_stream_cache.h"

namespace ssestitch::store::lmdb {

// One submitted batch and its callback; tickets number submissions (Writer's order). A batch
// written to the journal (lmdb_journal.h) has its frame's end there, and its callback was
// called when it was journaled (done is empty).
struct Pending {
  Batch batch;
  CommitCallback done;
  std::size_t bytes = 0;
  std::uint64_t ticket = 0;
  std::optional<JournalMark> journaled;  // the journal is applied up to here once this commits
};

class Committer {
 public:
  // `next_stream` is raised past any stream number a batch uses.
  Committer(Env& env, const LmdbOptions& options, std::atomic<std::uint64_t>& next_stream);
  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Loads the stream records of the store and its journal mark. Errors: store_corrupt (a record
  // fails to decode), io_error.
  util::Result<void> load();
  // How far the journal is applied (meta "journal"), as load() read it and commits moved it;
  // none for a store that never had a journal.
  const std::optional<JournalMark>& journal_mark() const noexcept { return m_mark; }
  // Records `mark` as how far the journal is applied, in a transaction of its own.
  util::Result<void> set_journal_mark(JournalMark mark);
  // Commits `group` in one transaction (batch by batch when together they do not fit) and
  // calls every callback, in order. True when something committed. `light`: the caller is the
  // proxy's loop (an inline commit): the retention work riding on the transaction (trims,
  // maintenance window, doomed deletions, store-level eviction) deletes at most 64 events plus
  // two per event written per kind, instead of thousands; what it leaves is done by the next
  // transactions, and by the writer thread's own (maintain()) when a light one ran out.
  // Measured (2026-12-07, a store at its limit: --store-max 64MiB filled by 400,000 bulk events,
  // then a stream paced at 5,000/s for 10 s; 3 interleaved runs): commits over 1 ms 55-74 ->
  // 1-6 (ssestitch_store_commit_seconds); 10 bulk streams of 200,000 events into 128 MiB: 395
  // -> 20, the store within its limit, no store_full. The paced p99 moved within this VM's noise
  // (339-772 -> 268-553 us).
  bool process_group(std::vector<Pending>& group, bool light = false);
  // With no batch to commit: runs the retention work that is due (maintenance window, doomed
  // sessions and streams). True when it committed.
  bool maintain();
  // Building a transaction threw (out of memory): back to the committed state, and every
  // callback of `group` not yet called gets an internal error naming `what`.
  void fail_group(std::vector<Pending>& group, const std::string& what) noexcept;
  void count_queue_full();
  StoreMetrics metrics() const;

 private:
  using StreamEntry = StreamCache::Entry;
  // Scratch of one write transaction.
  struct Txn {
    MDB_txn* txn = nullptr;
    MDB_cursor* events = nullptr;
    codec::EventKey tail{};  // largest key of the events database (valid if has_tail)
    bool has_tail = false;
    std::int64_t now_ms = 0;
    std::uint64_t events_written = 0;
    std::uint64_t events_evicted = 0;
    std::size_t trim_budget = 0;
    std::vector<std::uint64_t> finished_streams;  // doomed streams fully deleted here
    std::vector<std::string> finished_sessions;
    std::vector<std::string> notices;  // writes skipped as stale, logged after commit
    std::size_t stale = 0;
    bool committed = false;
    bool light = false;    // see process_group()
    bool backlog = false;  // light: retention work was left for want of budget
    const char* failed_call = "";
  };
  // advance: a transaction that only writes last_commit_ms. LMDB reuses a page from the second
  // transaction after the one that freed it (mdb_find_oldest), so after an eviction one more
  // small commit lets the next transaction use what the eviction freed.
  enum class Work { batches, maintenance, evict, advance };

  util::Result<CommitInfo> commit_batches(std::span<Pending*> batches, bool light);
  // One write transaction; returns 0 or the LMDB code of the first failure (state.failed_call).
  int run_txn(std::span<Pending*> batches, Work work, Txn& state);
  int apply(Txn& state, const Batch& batch);
  int put_event(Txn& state, const EventRecord& ev);
  int put_stream(Txn& state, const StreamRecord& rec);
  int put_mark(MDB_txn* txn, JournalMark mark);
  int write_dirty(Txn& state);
  void rollback() noexcept;
  void settle(Txn& state);
  bool grow_map(bool after_map_full);
  void fail_metrics(const util::Error& e);

  // m_cache.touch_or_create(), raising m_next_stream past a stream it creates.
  StreamEntry& touch_or_create(std::uint64_t stream);

  // Retention (lmdb_retention.cc). Each returns 0 or an LMDB code (state.failed_call set).
  int trim_stream(Txn& state, std::uint64_t stream, std::uint64_t free_bytes, std::uint64_t* freed);
  int trim_touched(Txn& state);
  // Events one kind of retention work may delete in `state`: `full`, or less when it is light.
  static std::size_t budget(const Txn& state, std::size_t full) noexcept;
  int maintenance_step(Txn& state);
  int doom_session(Txn& state, std::string_view session);
  int delete_doomed(Txn& state);
  int evict_for_store(Txn& state, bool after_map_full);
  std::uint64_t live_bytes(MDB_txn* txn) const;

  Env& m_env;
  const LmdbOptions m_options;
  const util::Clock& m_clock;
  std::atomic<std::uint64_t>& m_next_stream;
  // store_max_bytes rounded down to whole pages; lowered to the map size when the disk cannot
  // hold a larger map.
  std::uint64_t m_store_max = 0;
  std::vector<Pending*> m_group_ptrs;  // reused by every group: an inline commit allocates nothing

  mutable std::mutex m_metrics_mutex;  // metrics are read by any thread
  StoreMetrics m_metrics;

  StreamCache m_cache;
  std::set<std::uint64_t> m_doomed_streams;
  std::set<std::string> m_doomed_sessions;
  std::uint64_t m_rotation_stream = 0;
  std::string m_rotation_session;
  std::int64_t m_next_maintenance_ns = 0;
  bool m_backlog = false;  // a light transaction left retention work: maintain() runs a full one
  std::int64_t m_next_evict_log_ns = 0;
  // The largest event key ever committed, so that a transaction need not look up the last key
  // (MDB_LAST) to decide on MDB_APPEND. Deletions and aborted transactions can leave it above
  // the real last key, never below (the writer is the only writer): a key between the two is
  // then put without MDB_APPEND, which is only slower.
  std::optional<codec::EventKey> m_tail;
  bool m_tail_read = false;  // m_tail was read from the store once
  std::int64_t m_stamped_ms = LLONG_MIN / 2;  // last_commit_ms last written (committed)
  std::string m_scratch;  // reused encode buffer
  std::optional<JournalMark> m_mark;  // committed
};

}  // namespace ssestitch::store::lmdb
