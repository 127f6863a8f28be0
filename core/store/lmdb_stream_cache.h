#pragma once
// lmdb::StreamCache: the writer's in-memory copy of every stream record of the store, kept
// equal to the committed state across aborted transactions. Private to core/store.
//
// The writer needs each touched stream's stored next_seq, newest event seq and Retained
// counters to enforce "writes only move forward" and to keep Retained up to date without a
// read-decode-encode per event, and it needs streams ordered by last activity for store-level
// eviction. Within a write transaction every change goes through touch(), touch_or_create() or
// erase(), which remember the entry as it was (undo log); rollback() restores those entries
// when the transaction aborts (MDB_MAP_FULL, an I/O error), commit() keeps them and re-keys the
// activity order. This assumes one writer per store, which ssestitch.lock guarantees for
// exclusive opens. No LMDB here: tests/unit/store_lmdb_stream_cache_test.cc drives it alone.
// Not thread-safe: the caller holds the writer's transaction mutex.

#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/store/records.h"

namespace ssestitch::store::lmdb {

class StreamCache {
 public:
  struct Entry {
    StreamRecord rec;
    std::uint64_t last_seq = 0;  // newest event seq ever stored (writes only move forward)
    bool dirty = false;          // the record must be written in the current transaction
    // Not stored: a lower bound for the arrival of its oldest retained event, read when
    // retention last looked. While it is within the age limit, the age trim need not seek to
    // that event (events leave from the front, so the bound only rises; a wall clock set back
    // can make it too high, which delays an age trim by at most the step).
    std::int64_t oldest_arrival_ms = LLONG_MIN;
  };
  // (last_active_ms, stream) of the streams that hold events, least recently active first.
  using ActivityOrder = std::set<std::pair<std::int64_t, std::uint64_t>>;

  // Adds a stream read from the store (at start-up, outside any transaction).
  void load(Entry entry);

  const Entry* find(std::uint64_t stream) const;
  Entry* find(std::uint64_t stream);
  // The entry of an existing stream, to be changed in this transaction.
  Entry& touch(std::uint64_t stream);
  // The same, creating an empty record for a stream the cache does not know (*created = true).
  Entry& touch_or_create(std::uint64_t stream, bool* created);
  // Removes a stream in this transaction.
  void erase(std::uint64_t stream);
  // The record must be written in this transaction (listed once in dirty()).
  void mark_dirty(Entry& entry);
  // The streams marked dirty since the transaction began, in marking order.
  const std::vector<std::uint64_t>& dirty() const noexcept { return m_dirty; }

  // A write transaction begins: nothing is remembered yet.
  void begin() noexcept;
  // It aborted: every entry it changed is as before it began.
  void rollback() noexcept;
  // It committed: its changes stay, the activity order follows them.
  void commit();

  const std::map<std::uint64_t, Entry>& entries() const noexcept { return m_streams; }
  const ActivityOrder& activity() const noexcept { return m_lru; }

 private:
  std::map<std::uint64_t, Entry> m_streams;
  std::unordered_map<std::uint64_t, std::optional<Entry>> m_undo;  // as before the transaction
  std::vector<std::uint64_t> m_dirty;
  ActivityOrder m_lru;
};

}  // namespace ssestitch::store::lmdb
