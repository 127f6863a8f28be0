#pragma once
// LmdbStore: the embedded SessionStore, one LMDB environment in a directory.
//
// On-disk format, version 1 (k_format_version)
// --------------------------------------------
// Directory (created 0700): data.mdb and lock.mdb (LMDB, created 0600), and ssestitch.lock
// (0600; flock()ed by the proxy that owns the store, holds its pid as text).
// Named sub-databases (all keys compare bytewise, so big-endian integers sort numerically and
// cursor order is replay order):
//   meta             key: ASCII name
//                      "magic"          -> "ssestitch-store"
//                      "format_version" -> u32
//                      "created_ms"     -> i64
//                      "last_commit_ms" -> i64 (rewritten by every write transaction)
//   sessions         key: session id bytes                       value: SessionRecord
//   streams          key: u64 stream                             value: StreamRecord
//   events           key: u64 stream, u64 seq (16 bytes)         value: EventRecord
//   session_streams  key: session id, 0x00, u64 stream           value: empty (index)
// Values: a u8 record version (1), then the record's fields in declaration order (records.h):
// integers big-endian fixed width (enums as u8, bool as u8, i64 as two's complement), strings
// as u32 length + bytes, vectors as u32 count + items. EventRecord values do not repeat the key
// (stream, seq). Integers in keys are big-endian; session ids never contain 0x00 (they are
// visible ASCII), so the index key is unambiguous.
//
// Opening (never overwrites anything it did not create):
//   - a path that is not a directory, a data.mdb that LMDB rejects (MDB_INVALID), or an LMDB
//     environment that is not empty and has no "meta" database with our magic: store_not_a_store;
//   - MDB_VERSION_MISMATCH or a format_version other than k_format_version: store_version
//     (no migration exists yet; a future version must migrate explicitly or refuse);
//   - MDB_CORRUPTED / MDB_PAGE_NOTFOUND or a record that fails to decode: store_corrupt;
//   - another process holding ssestitch.lock (exclusive opens only): store_locked;
//   - read-only open of a directory without data.mdb: store_open_failed ("no such store").
//
// Writing: one writer thread takes batches from a bounded queue (queue_max_bytes) and commits
// everything queued in one transaction (group commit), then calls the batches' callbacks in
// order. An event and the stream record it advances are in the same transaction. Writes only
// move forward: an event whose seq is not beyond the stream's newest stored seq, or a stream
// record whose next_seq is lower than the stored one, is skipped and logged (internal).
// Sync modes: always = LMDB default (fsync at each commit); batch = MDB_NOSYNC plus
// mdb_env_sync at least every sync_interval_ms; none = MDB_NOSYNC, synced only at close.
// Committed data survives a crash of the process in every mode (it is in the OS page cache).
//
// Retention (incremental, in the writer, a bounded amount of work per transaction): per stream
// by count, bytes and age; idle closed sessions and finished streams after idle_ttl_ms; per
// store by total bytes: the map grows in steps (doubling from initial_map_bytes) up to
// store_max_bytes; past 90% of that, events of the least recently active streams are evicted.
// When a commit still gets MDB_MAP_FULL, it fails with store_full (callbacks get the error,
// metrics().degraded is set) and later commits are retried normally.
//
// Reading: every read is one LMDB read transaction (MDB_NOTLS), so readers in this or another
// process (inspect, replay --follow) never block the writer and see committed prefixes only.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "core/store/session_store.h"
#include "core/util/clock.h"

namespace ssestitch::store {

struct LmdbOptions {
  std::string dir;
  bool read_only = false;        // inspect / replay: MDB_RDONLY, no writer thread
  bool exclusive = true;         // take ssestitch.lock (writers only)
  SyncMode sync = SyncMode::batch;
  std::int64_t sync_interval_ms = 100;
  Retention retention;
  std::size_t queue_max_bytes = 64u << 20;
  std::uint64_t initial_map_bytes = 64u << 20;
  const util::Clock* clock = nullptr;  // nullptr: util::system_clock()
};

class LmdbStore final : public SessionStore {
 public:
  static constexpr std::uint32_t k_format_version = 1;

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
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ssestitch::store
