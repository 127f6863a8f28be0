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
// which takes what is queued, up to LmdbOptions::group_max_bytes, and commits it in ONE write
// transaction (group commit, done by lmdb::Committer, lmdb_committer.h), then calls the
// callbacks in submission order. When the store keeps up, try_commit_inline() commits on the
// caller's thread instead (no hand-off): one frame appended to the journal, which this thread
// applies a few milliseconds later (below: "The journal"), or a transaction of its own; not
// for a batch marked Batch::backlog (below: "Which thread commits").
// Syncs are scheduled here: `always` syncs every commit (the transaction does), `batch` starts
// an fsync --sync-interval after the later of the previous one's end and the first commit since
// (so a burst after a quiet spell shares one fsync), and before flush() returns; `none` syncs
// only when the store closes. The fsync runs outside the transaction mutex, so commits go
// on while the disk catches up.
//
// Rejected: a thread per sync (two threads would fight over the same pages); syncing back to
// back (the disk would never rest, and with MDB_WRITEMAP each sync write-protected the pages
// the next commits wrote: page faults in the loop).
//
// How commits reach the file (issue 23). Chosen on 2026-12-07, measured at 17b2030: write(2) calls,
// not MDB_WRITEMAP (lmdb_env.cc). With WRITEMAP, each --sync batch msync write-protects the pages
// the loop is committing into while it runs, and every commit during it faults: 100 paced streams
// (sse-gen/sse-sink, 100 x 200 events/s x 5 s, 3 interleaved runs) p90 5.7-9.8 ms, p99 15.5-21.2 ms
// with WRITEMAP against p90 0.52-0.58 ms, p99 3.5-5.6 ms without, same p50 (155-207 against 170-200
// us) and CPU (3.7-4.5 against 4.0-4.1 s). The price is one stream's: the syscalls of each commit
// (lseek+writev or pwrite per run of dirty pages, pwrite of the meta page) where WRITEMAP had none;
// strace -c of one stream paced at 5,000/s, 10,000 events (1,338 commits: strace's slowdown
// batched ~7.5 events to a commit): 10.3 pwrite and 1.65 lseek+writev per commit, some 12
// scattered runs of pages (by LMDB's design these would be the events' leaf and branch pages,
// the stream record's, the main and free-page databases' and the meta page; not traced page by
// page). Measured against WRITEMAP:
// paced 5,000/s, 3 interleaved runs, p50 38-40 against 49-51 us, p99 394-651 against 290-326 us,
// CPU 37.2 against 43-46 us per event; peer-bench, 5 rounds, one run (results
// 20261207-134411-full): per-write 2.10x against 1.73x of direct, paced p50 added 24.7 against 41.8
// us, POST answered by SSE 2.04x against 1.58x, 100-stream p99 18.5 against 6.1 ms (nginx 2.2 ms);
// a second run at 8b58e91 (20261207-143424-full): 100-stream p99 6.3 against 20.6 ms, paced p99.9
// 2.1 against 11.2 ms, paced p50 added 39.8 against 22.8 us, POST answered by SSE (20,000 events)
// 1.39x against 2.22x, bulk 0.13x against 0.17x; at 100,000 events POST-answered is even (207k
// against 219k events/s: once the proxy falls behind, reads carry many events and commits batch).
// Issue 23's worst figures are the tails under concurrency, so the tail wins; the per-commit
// syscalls are what to cut next. Counted without strace's slowdown (perf stat of syscall
// tracepoints, one stream paced at 5,000/s, 10,000 events, every event its own commit, at
// ba42ebb): per event 6.98 pwrite, 0.03 lseek+writev, plus the 1 recvfrom, 1 writev, 1 epoll_wait
// and 1 timerfd_settime of forwarding it; nginx on the same load makes 3 syscalls per event and
// spends 42 us of CPU per event against our 74. A commit's pages are one copy-on-write path per
// database it touches (events: leaf and branches, streams, main, free list) plus the meta page,
// none adjacent; fewer syscalls per event need fewer pages per commit (the stream record not
// rewritten with every event, i.e. derived from the log at recovery) or an append-only journal
// in front of the B-tree (one write per commit, applied in groups by this thread).
// Both measured on 2026-12-08 with throw-away patches (not committed; perf stat of the proxy, one
// stream paced at 5,000/s, 10,000 events, sse-gen/sse-sink, interleaved runs):
//   - the stream record not written by commits that carry only events: 6.2 -> 5.3 pwrite per
//     event, CPU 75-92 against 80-89 us per event, p50 144-197 against 147-193 us (3 runs each):
//     nothing measurable, so not worth a store format that derives cursors at recovery;
//   - a journal: an inline commit pwrite()s the batch's encoded records to a preallocated file
//     and calls back at once, this thread applies the journaled batches to LMDB 5 ms later (or
//     past 256 KiB) in one transaction: 1.0 pwrite per event, CPU 59-60 against 75-79 us per
//     event (nginx 46-50, --no-store 56-61), p50 86-88 against 106-136 us, p99 202-248 against
//     305-343 us (3 runs each). That is the whole of the store's cost on this path. The same
//     patch did nothing for 100 paced streams (100 x 200 events/s; 3 runs each: p50 3.4-5.8
//     against 1.0-2.7 ms, CPU 37-42 us per event both; nginx 2.7-3.6 ms in that hour: those
//     commits batch several streams already, and the generator and sink fill the 2 cores).
//
// The journal (lmdb_journal.h, built after that patch). try_commit_inline() appends the batch
// as one frame and calls back (try_journal); the batch waits in the queue, marked journaled,
// and this thread applies the journaled batches journal_delay_ms (5 ms) after the oldest, or
// at once past group_max_bytes, when a read of this process waits (await_applied: reads must
// see what clients saw), on flush() and at close; the transaction that applies them records
// how far the journal is applied (meta "journal"). What keeps it simple:
//   - order: a batch is journaled only while no plain batch is queued or committing (m_plain),
//     so journaled and plain batches reach the B-tree in submission order, and a plain inline
//     commit needs an empty queue, i.e. nothing journaled waiting;
//   - no reader ever merges frames with the B-tree: in this process a read first has them
//     applied, in another one it sees the B-tree (journal_delay_ms late next to a live writer),
//     and a read-only open of a store whose writer died applies them first, like the next
//     writer would (LmdbStore::open);
//   - reuse: when everything journaled is applied and the journal is half full (or a frame did
//     not fit: it went the plain way), this thread records the next epoch at offset 0 and the
//     loop writes from the start again (restart_journal_if_due, under m_journal_mutex);
//   - deadlock: an inline transaction's callbacks may read the store (a client catching up);
//     nothing is journaled while they run (m_inline_busy), so that read finds nothing to wait
//     for while this thread would wait for the transaction mutex the caller holds;
//   - what the store cannot take: a journaled batch the B-tree refuses (store_full: larger
//     than --store-max even after eviction) was forwarded and is not in the log, as it was
//     before with its commit failed and the proxy forwarding degraded; the mark moves past it.
// Measured (2026-12-08; one stream paced at 5,000/s, 10,000 events, perf stat of the proxy, 3
// interleaved runs): pwrite per event 5.5-6.9 -> 1.1-1.2, CPU 81-97 -> 68-80 us per event, p50
// 146-202 -> 88-149 us. Peer-bench, 5 interleaved rounds, one run (results
// 20261208-025142-full; head = 10ebc29 without the journal): paced p50 137.2 -> 76.2 us
// (nginx 74.4, haproxy 80.3), p99 473 -> 261 us (haproxy 187), CPU 82.4 -> 50.8 us per event
// (nginx 34.0), one write per event 1.63x -> 2.41x of direct (nginx 1.50x) at 3.60 -> 2.65 us
// per event (nginx 2.80), POST answered by SSE 1.55x -> 3.25x (nginx 1.60x), first event 826
// -> 730 us (nginx 464); bulk, 100 bulk streams and 100 paced streams unchanged within the
// noise (their batches are Batch::backlog or carry many streams, and went through few
// transactions already); upstream cut every 1,000 events 0.41x -> 0.32x in that run (lower in
// each of its 5 rounds), but 389-632k against 345-600k events/s over 3 interleaved runs of 3
// alone (/tmp/reconn.sh): not reproduced.
//
// Measured with WRITEMAP before that, and rejected: dropping WRITEMAP, on 2026-12-06 (one
// peer-bench run, 2 rounds: worse on every figure, CPU per event 4.05 against 3.58 us one write
// per event, 55.6 against 41.4 paced, 45.5 against 34.3 at 100 streams; bulk 0.14x against
// 0.17x of direct), a comparison flattered by a bug fixed in 0b7f033: a sync after a quiet
// spell waited for this thread's idle wake (up to 1 s), so short runs often had no msync in
// them. And three ways to keep the loop out of page faults on the map: reading the next 16 MiB
// past the used end into the page cache (MADV_WILLNEED) when an inline commit came near it (3
// rounds: bulk 0.10x against 0.20x, 4x the CPU); mapping the pages past the used end read-only
// ahead of the commits (MADV_POPULATE_READ, the map's address from /proc/self/maps): the loop
// still took one fault per page, and on this VM a fault's entry and exit cost more than the
// zeroing it saved (perf, one bulk stream: page faults 17.5 -> 20.5 % of the proxy's samples);
// making writable again after each sync (MADV_POPULATE_WRITE) the pages the next commits take
// (the oldest of FREE_DBI's pages, the meta pages, what the log grew by): time to first event
// of streams opened 200 ms apart 1,060-1,160 against 1,460-1,600 us, but nothing for paced or
// 100-stream latency (the faults there are on pages the msync cleans while commits go on), and
// it read FREE_DBI's records, whose layout is LMDB's internal IDL.
//
// Which thread commits (issue 23, 2026-12-07). Inline commits save the hand-offs but put the
// store in series with everything else the loop does: behind a bulk upstream (every read filling
// the 64 KiB buffer) the loop read, parsed, committed and forwarded one read at a time on one
// core (peer-bench bulk 0.10-0.16x of direct at 1.0 core). A batch marked Batch::backlog (its
// producer's last read filled the buffer: net::Transfer::backlogged) is queued for this thread
// instead, so the loop parses the next read while this thread commits the last one. Peer-bench,
// 5 interleaved rounds, one run (results 20261207-205335-full), before -> after: bulk 0.16x ->
// 0.19x (per round 254-518k -> 462-781k events/s), 100 bulk streams 0.13x -> 0.17x, upstream cut
// every 1,000 events 0.19x -> 0.25x, per-write 1.55x -> 1.86x, POST answered by SSE 1.53x ->
// 2.39x, proxy cores in bulk 1.00 -> 1.45; paced and 100 paced streams within this VM's noise
// (paced p50 223 -> 145, 100 streams p50 2.7 -> 5.0 ms in that run, 1.7-3.0 -> 1.1-3.6 ms
// over 3 runs of a bulk stream then 100 paced streams).
// Groups are capped (LmdbOptions::group_max_bytes, 256 KiB): without a cap, the groups behind a
// bulk stream held everything queued, thousands of events written and as many trimmed by
// retention in one transaction, and left LMDB a long free list, which every commit that takes
// pages from it writes back (after 400,000 bulk events into --retain-events 100000: 8,285 free
// pages of a 16,061-page file in 224 transactions, against 94 of 7,847 inline; one stream paced
// at 5,000/s afterwards, 2 runs: p99 517-1,017 against 221-329 us). Capped: 164-167 free pages
// of ~7,920 in 900-1,800 transactions, and the paced figures after bulk runs above.
// Rejected on the way (peer-bench, 3 rounds each, against inline always): queueing any batch of
// more than 1, 8 or 16 events (bulk 0.13-0.15x against 0.09x, but 100 paced streams p50 6.3 ms
// against 2.1: the Trigger's batches of many streams crossed the line and paid the hand-offs);
// of more than 4 or 16 events of one stream (paced p99 1.3-6.8 ms against 0.36: a catch-up
// after a stall went to this thread and the commits behind it queued); holding what the loop
// adds while a backlog batch is in flight, one batch in flight at a time (100 bulk streams
// 0.11x against 0.20x, and its large batches bloated the free list again: 3,419 free pages).
//
// Who frees a committed batch (issue 23, 2026-12-07). A batch's records were allocated by the
// producer's thread (the proxy's loop); freed here, each free of a block from the loop's malloc
// arena took that arena's lock while the loop was allocating the next records from it: perf of
// one bulk stream, 7-9 % of the proxy's samples in glibc's arena lock (__lll_lock_wait_private /
// wake, with their futex calls) and _int_free. So the batches this thread committed are handed
// back (m_spent) and freed by the next submit() or try_commit_inline() on the producer's thread;
// this thread frees them itself only when the producer has gone quiet (its idle wake-up) or more
// than k_max_spent_bytes wait (a bound, not the common case). Measured, one bulk stream of
// 400,000 events through the proxy (sse-gen/sse-sink, 6 interleaved runs): 453-741k (median 623k)
// -> 622-688k (median 648k) events/s, proxy CPU 2.41 -> 2.31 us per event (medians); perf: the
// arena lock 7.5 -> 0.1 % of the proxy's samples, _int_free moved to the loop thread (2 %).
// Left for later: recycling the records' buffers through the pipeline (no allocation per event
// at all); it needs the batch back from SessionStore::submit, an interface change for three stores.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/store/lmdb_committer.h"
#include "core/store/lmdb_env.h"
#include "core/store/lmdb_options.h"

namespace ssestitch::store::lmdb {

class Writer {
 public:
  // Committed batches waiting for the producer's thread to free them, at most (above: "Who frees").
  static constexpr std::size_t k_max_spent_bytes = 8u << 20;

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
  // The fast path of LmdbStore::submit: when the sync mode does not fsync per commit, commits
  // `batch` on the calling thread and calls `done` there, before returning true: to the journal
  // when nothing but journaled batches is queued, else as a transaction when nothing is queued
  // and none runs. Otherwise returns false and leaves both untouched (the caller queues them
  // with submit()). This saves the two thread hand-offs of the queue (tens
  // of microseconds on a busy VM) when the store keeps up; a commit without fsync only writes
  // to the page cache, so the caller never waits for the disk.
  bool try_commit_inline(Batch& batch, CommitCallback& done);
  util::Result<void> flush();
  // Before a read of this process: returns once every batch journaled so far is in the B-tree
  // (it asks this thread to apply them now). Returns at once when nothing journaled waits, and
  // on this thread.
  void await_applied();
  StoreMetrics metrics() const;

 private:
  Writer(Env& env, const LmdbOptions& options, std::atomic<std::uint64_t>& next_stream);
  void run() noexcept;
  // Opens the journal and applies what it holds past the store's mark (the last writer's
  // journaled batches it did not apply: a kill -9), then starts a new epoch.
  util::Result<void> open_journal();
  // The journal half of try_commit_inline: true when `batch` was journaled and `done` called.
  bool try_journal(Batch& batch, CommitCallback& done);
  // Under m_mutex: the queue holds only journaled batches that may still gather.
  bool journal_waits_locked(std::chrono::steady_clock::time_point now) const noexcept;
  // Starts a new epoch at the journal's start once everything journaled is applied and the
  // journal is half full (or a batch did not fit).
  void restart_journal_if_due();
  // Under m_mutex (and m_txn_mutex): moves the oldest queued batches into the empty `group`,
  // up to LmdbOptions::group_max_bytes (at least one batch).
  void take_group_locked(std::vector<Pending>& group);
  // Under m_mutex: moves the batches of `group` (`bytes` in all), committed by this thread, to
  // m_spent for the producer's thread to free, unless that would pass k_max_spent_bytes (the
  // caller frees them).
  void hand_back_locked(std::vector<Pending>& group, std::size_t bytes);
  // Under m_mutex: the batches waiting in m_spent, for the caller to free after the lock.
  std::vector<Batch> take_spent_locked() noexcept;
  // Under m_mutex: counts a commit; true when it is the first since the last sync (it starts
  // the --sync-interval clock).
  bool count_commit_locked() noexcept;
  // Under m_mutex: when the batch-mode sync of what is committed is due: --sync-interval after
  // the later of the last sync's end and the first commit since it.
  std::chrono::steady_clock::time_point sync_due(std::chrono::steady_clock::time_point last_sync,
                                                 std::chrono::milliseconds interval) const noexcept;

  Env& m_env;
  const LmdbOptions m_options;

  // Held by whoever runs a write transaction (m_committer): the writer thread, or a caller
  // committing inline. Never held during an fsync.
  std::mutex m_txn_mutex;
  Committer m_committer;
  std::vector<Pending> m_inline_group;  // reused (m_txn_mutex): an inline commit allocates nothing

  // Queue (m_mutex).
  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::condition_variable m_progress;
  std::vector<Pending> m_queue;
  std::size_t m_queued_bytes = 0;  // queued + being committed
  // Batches this thread committed, to be freed on the producer's thread (above: "Who frees").
  std::vector<Batch> m_spent;
  std::size_t m_spent_bytes = 0;
  std::uint64_t m_next_ticket = 1;
  std::uint64_t m_done_ticket = 0;    // every ticket <= this has had its callback called
  std::uint64_t m_synced_ticket = 0;  // ... and was synced (batch / always)
  bool m_sync_requested = false;
  bool m_stopping = false;
  int m_progress_waiters = 0;  // threads in flush(), waiting on m_progress
  std::uint64_t m_commit_gen = 0;  // commits so far (writer and inline)
  std::uint64_t m_synced_gen = 0;  // m_commit_gen covered by the last sync
  std::chrono::steady_clock::time_point m_first_unsynced{};  // first commit since the last sync
  std::uint64_t m_syncs = 0;        // successful syncs by this thread (StoreMetrics::syncs)
  util::Error m_sync_error;
  bool m_sync_failed = false;

  // The journal (lmdb_journal.h). m_journal_mutex is held while a batch is appended (its encode
  // buffer belongs to it) and while the epoch changes; the rest is under m_mutex.
  std::optional<Journal> m_journal;
  std::mutex m_journal_mutex;
  std::string m_journal_payload;
  JournalMark m_journal_tail;          // where the next frame goes
  bool m_journal_full = false;         // a frame did not fit: restart before the next append
  bool m_inline_busy = false;          // an inline commit runs (its callbacks may read: no appends)
  bool m_apply_requested = false;      // await_applied() waits
  std::size_t m_plain = 0;             // batches queued or being committed that are not journaled
  std::size_t m_journaled = 0;         // journaled batches not yet applied
  std::uint64_t m_last_journaled_ticket = 0;
  std::chrono::steady_clock::time_point m_journaled_since{};  // the oldest not yet applied

  std::thread m_thread;  // last: started after everything above is initialised
};

}  // namespace ssestitch::store::lmdb
