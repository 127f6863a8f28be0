#pragma once
// LmdbStore: the embedded SessionStore, one LMDB environment in a directory.
//
// On-disk format, version 3 (k_format_version)
// --------------------------------------------
// Version 3 adds the journal: the file `journal` and the meta record "journal" (below); version
// 2 added the stream kind 4 (tape, records.h). A version 1 or 2 store is read as it is, and a
// writable open upgrades it in place (meta "format_version" := 3: such a store has no journal
// to apply). Versions above 3 are refused: an older ssestitch would not apply the journal.
// Directory (created 0700): data.mdb and lock.mdb (LMDB, created 0600), ssestitch.lock
// (0600; flock()ed by the proxy that owns the store, holds its pid as text) and journal (0600,
// LmdbOptions::journal_bytes reserved; frames of batches not yet applied to data.mdb: the
// layout is in lmdb_journal.h).
// Named sub-databases (all keys compare bytewise, so big-endian integers sort numerically and
// cursor order is replay order):
//   meta             key: ASCII name
//                      "magic"          -> "ssestitch-store"
//                      "format_version" -> u32
//                      "created_ms"     -> i64
//                      "last_commit_ms" -> i64 (rewritten by a write transaction once a second at most)
//                      "journal"        -> u64 epoch, u64 offset: the journal's frames of that
//                                          epoch before that offset are applied (absent: epoch
//                                          1, offset 0); written with the batches it covers
//                    (meta values are raw big-endian integers / bytes, without a record version)
//   sessions         key: session id bytes                       value: SessionRecord
//   streams          key: u64 stream                             value: StreamRecord
//   events           key: u64 stream, u64 seq (16 bytes)         value: EventRecord
//   session_streams  key: session id, 0x00, u64 stream           value: empty (index)
// Values: a u8 record version (1), then the record's fields in declaration order (records.h):
// integers big-endian fixed width (enums as u8, bool as u8, i64 as two's complement), strings
// as u32 length + bytes, vectors as u32 count + items. EventRecord values do not repeat the key
// (stream, seq). Integers in keys are big-endian; session ids never contain 0x00 (they are
// visible ASCII), so the index key is unambiguous. submit() refuses session ids that are empty,
// longer than 255 bytes (LMDB keys are at most 511) or contain 0x00.
//
// Opening (never overwrites anything it did not create):
//   - a path that is not a directory, a data.mdb that LMDB rejects (MDB_INVALID), or an LMDB
//     environment that is not empty and has no "meta" database with our magic: store_not_a_store;
//   - MDB_VERSION_MISMATCH or a format_version other than 1 or k_format_version: store_version
//     (a future version must migrate explicitly or refuse);
//   - MDB_CORRUPTED / MDB_PAGE_NOTFOUND or a record that fails to decode: store_corrupt;
//   - another process holding ssestitch.lock (exclusive opens only): store_locked;
//   - read-only open of a directory without data.mdb: store_open_failed ("no such store").
// Messages name the path and the failing call, e.g.
// "mdb_env_open(/x/store): MDB_INVALID: File is not an LMDB file". A writable open creates only
// the last path component (mode 0700); a refused exclusive open removes the files and the
// directory it created. A read-only open takes the lock only to apply a dead writer's journal
// (below: "The journal"), but LMDB may create lock.mdb (its reader table), which is left in
// place. A new store's map starts at initial_map_bytes;
// an existing one keeps the map size recorded in its file (at least initial_map_bytes).
//
// Writing: one writer thread takes batches from a bounded queue (queue_max_bytes) and commits
// what is queued in one transaction (group commit, up to group_max_bytes a transaction), then
// calls the batches' callbacks in order. Fast path: with sync none or batch, a batch submitted
// on a store that keeps up is committed on the submitting thread, which gets its callback
// before submit() returns: appended to the journal (one write; the writer thread applies the
// journaled batches to the B-tree journal_delay_ms later, many to a transaction, or at once
// when this process reads, flushes or closes), or, when the journal cannot take it, as a
// transaction of its own. Either writes only to the page cache, so the caller never waits for
// the disk, and it saves two thread hand-offs per batch (the proxy's added latency). A batch
// marked Batch::backlog (its producer has more input waiting) always goes to the writer
// thread, so the producer reads on while it commits. fsyncs (sync batch), maintenance and sync
// always stay on the writer thread.
// The journal (lmdb_journal.h, design and figures in lmdb_writer.h): a batch is committed once
// its frame is written; a process killed before applying it loses nothing, because the next
// writable open applies the frames past the "journal" mark before anything else, and a
// read-only open of a store whose journal holds such frames while no process owns it
// (ssestitch.lock free) has them applied first (a writable open of its own, like the next
// proxy's; if it cannot, it reads without them and logs store_journal_not_applied). A reader
// in another process next to a live writer sees its commits up to journal_delay_ms late
// (always a prefix of them). Batches are journaled only in submission order: never past a
// batch that waits for the writer thread, nor from inside an inline transaction's callbacks.
// An event and the stream record it advances are in the same transaction. Writes only
// move forward: an event whose seq is not beyond the stream's newest stored seq, or a stream
// record whose next_seq is lower than the stored one, is skipped and logged (internal).
// Details (see lmdb_writer.h for the design):
//   - within a batch, sessions are applied first, then events, then stream records, so a batch
//     holding events 10..12 and its record with next_seq 13 is accepted as one unit;
//   - the writer keeps next_seq beyond every stored event and last_active_ms at the latest of
//     the record's value and the events' arrival, and an event with an upstream id moves the
//     record's cursor to that id (so a producer sends a record only for what events do not
//     carry); events for a stream that has no record create a minimal one (kind generic,
//     created_ms = first arrival);
//   - the queue counts a batch's bytes (Batch::bytes) until its transaction has committed; an
//     empty queue accepts any batch, however large;
//   - a group that hits MDB_MAP_FULL at store_max_bytes is retried batch by batch, so only the
//     batches that do not fit get store_full;
//   - events are written with MDB_APPEND whenever the key is beyond the last key of `events`
//     (measured: about 1.5x the rate of plain puts and an 8% smaller file for one stream).
// A writer commits with write(2) calls, not MDB_WRITEMAP (why: lmdb_env.cc, figures in
// lmdb_writer.h). data.mdb is as long as the map, and its blocks are allocated
// (posix_fallocate) whenever the map is set or grown, so a full disk fails the open or the
// growth (store_open_failed, store_full) and never a commit half-way.
// Sync modes: always = LMDB default (fsync at each commit; no journal); batch = MDB_NOSYNC plus
// mdb_env_sync sync_interval_ms after the later of the previous one's end and the first commit
// since (never back to back: see lmdb_writer.h; a journaled batch's commit there is its
// application, up to journal_delay_ms after its callback); none = MDB_NOSYNC, synced only at
// close.
// Committed data survives a crash of the process in every mode (it is in the OS page cache).
//
// Retention (incremental, in the writer, a bounded amount of work per transaction): per stream
// by count, bytes and age; idle closed sessions and finished streams after idle_ttl_ms; per
// store by total bytes: the map grows in steps (doubling from initial_map_bytes) up to
// store_max_bytes; past 90% of that, events of the least recently active streams are evicted.
// When a commit still gets MDB_MAP_FULL, it fails with store_full (callbacks get the error,
// metrics().degraded is set) and later commits are retried normally.
// Details: streams written by a transaction are trimmed to their limits in it; every other
// stream and session is visited by a rotating window (512 of each per pass) at most once per
// second of the store's clock, riding on the next transaction or on a maintenance transaction
// of its own; each transaction deletes a bounded number of events (about 1,000 to 4,000 per
// kind of work) and leaves the rest to the next one. A commit made inline on the proxy's loop
// deletes at most 64 plus two per event it writes per kind of work (lmdb_committer.h: "light"),
// so the loop never waits for thousands of deletions; when one leaves maintenance work, the
// writer thread's next transaction does a full pass. A closed or expired session idle past
// idle_ttl_ms is deleted with all its streams (whatever their state) and their index entries
// and events; the session record goes last. "Store bytes" are the pages in use by the
// databases (not the file size, which LMDB never shrinks); eviction brings them down to 85%.
// The map is grown ahead of need when 75% of it is in use, and after an MDB_MAP_FULL. After an
// MDB_MAP_FULL at store_max_bytes, other streams' events are evicted only if the store really is
// above 80% of its limit; a batch that is simply larger than the store fails alone.
//
// Reading: every read is one LMDB read transaction (MDB_NOTLS), so readers in this or another
// process (inspect, replay --follow) never block the writer and see committed prefixes only.
// A read in the writing process first waits until every batch journaled so far is applied
// (Writer::await_applied: at most one transaction).
// mdb_env_set_mapsize needs every transaction of the process to have ended, so transactions
// hold a writer-preferring read-write lock shared and a resize holds it exclusively; a read
// that meets MDB_MAP_RESIZED (another process grew the map) adopts the new size and retries.
// Open at most one LmdbStore per directory per process (an LMDB rule: closing a second
// environment on the same files drops the first one's POSIX locks). A writable open with
// exclusive = false must not run beside another writer: the writer caches the stream records.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/store/lmdb_options.h"
#include "core/store/session_store.h"

namespace ssestitch::store {

class LmdbStore final : public SessionStore {
 public:
  static constexpr std::uint32_t k_format_version = 3;

  // Opens (and, unless read_only, creates) the store in `options.dir`. Errors as listed above.
  static util::Result<std::unique_ptr<LmdbStore>> open(const LmdbOptions& options);
  // Commits everything queued, syncs, stops the writer thread and closes the environment.
  ~LmdbStore() override;
  LmdbStore(const LmdbStore&) = delete;
  LmdbStore& operator=(const LmdbStore&) = delete;

  util::Result<void> submit(Batch batch, CommitCallback done) override;
  util::Result<void> flush() override;
  std::uint64_t allocate_stream_number() override;
  util::Result<std::optional<SessionRecord>> session(std::string_view id) const override;
  util::Result<std::optional<StreamRecord>> stream(std::uint64_t stream) const override;
  util::Result<std::vector<SessionRecord>> sessions() const override;
  util::Result<std::vector<StreamRecord>> streams(std::optional<std::string_view> session) const override;
  util::Result<std::size_t> scan_events(std::uint64_t stream, std::uint64_t after_seq,
                                        std::size_t limit, std::size_t max_bytes,
                                        util::FunctionRef<bool(const EventView&)> visit) const override;
  util::Result<StoreStats> stats() const override;
  StoreMetrics metrics() const override;

  struct Impl;

 private:
  explicit LmdbStore(std::unique_ptr<Impl> impl);
  // `recover`: a read-only open first has a dead writer's journal applied (see "Journal").
  static util::Result<std::unique_ptr<LmdbStore>> open(const LmdbOptions& options, bool recover);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ssestitch::store
