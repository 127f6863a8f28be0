#pragma once
// LmdbOptions: how an LmdbStore is opened (the rules and the format are in lmdb_store.h). A
// header of its own so that the store's private parts (lmdb::Env, lmdb::Writer) need not
// include the public LmdbStore.

#include <cstddef>
#include <cstdint>
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
  std::int64_t idle_wake_ms = 1000;  // the writer thread wakes at least this often (retention)
  Retention retention;
  std::size_t queue_max_bytes = 64u << 20;
  // The writer thread's transaction takes queued batches up to this many bytes (at least one
  // batch, whatever its size); the rest waits for the next one (why: lmdb_writer.h).
  std::size_t group_max_bytes = 256u << 10;
  std::uint64_t initial_map_bytes = 64u << 20;
  // The journal in front of the B-tree (lmdb_journal.h; 0: none, every commit is an LMDB
  // transaction), and how long the writer thread lets journaled batches gather before it
  // applies them (it applies at once past group_max_bytes, or when this process reads).
  std::uint64_t journal_bytes = 4u << 20;
  std::int64_t journal_delay_ms = 5;
  bool inline_commits = true;    // the fast path of submit() (see "Writing"); tests turn it off
                                 // to hold the writer thread in a callback
  const util::Clock* clock = nullptr;  // nullptr: util::system_clock()
};

}  // namespace ssestitch::store
