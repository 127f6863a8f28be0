#pragma once
// lmdb::Env: an open, validated LmdbStore environment (format in lmdb_store.h), shared by the
// reading side of LmdbStore and its writer thread. Private to core/store.
//
// Owns, in destruction order: the MDB_env, then the flock()ed ssestitch.lock descriptor, so the
// lock is released only after the environment is closed.

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "core/store/lmdb_handles.h"
#include "core/store/lmdb_options.h"
#include "core/util/result.h"
#include "core/util/unique_fd.h"

namespace ssestitch::store::lmdb {

struct Dbis {
  MDB_dbi meta = 0;
  MDB_dbi sessions = 0;
  MDB_dbi streams = 0;
  MDB_dbi events = 0;
  MDB_dbi session_streams = 0;
};

inline constexpr const char* k_magic = "ssestitch-store";
inline constexpr const char* k_lock_file = "ssestitch.lock";

// A read transaction that holds the map gate shared for its whole life (the gate is released
// after the transaction ends, see the member order).
class ReadTxn {
 public:
  ReadTxn(std::shared_lock<MapGate> gate, TxnPtr txn) noexcept
      : m_gate(std::move(gate)), m_txn(std::move(txn)) {}
  MDB_txn* get() const noexcept { return m_txn.get(); }

 private:
  std::shared_lock<MapGate> m_gate;
  TxnPtr m_txn;
};

using util::UniqueFd;

class Env {
 public:
  // Checks, locks, opens and (for a new store) initialises the environment in options.dir,
  // following the open rules of lmdb_store.h. Files this call created are removed again when it
  // refuses; nothing that existed before is modified.
  static util::Result<std::unique_ptr<Env>> open(const LmdbOptions& options);
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  MDB_env* get() const noexcept { return m_env.get(); }
  const Dbis& dbi() const noexcept { return m_dbi; }
  const std::string& dir() const noexcept { return m_dir; }
  MapGate& gate() const noexcept { return m_gate; }
  std::uint32_t page_size() const noexcept { return m_page_size; }
  bool read_only() const noexcept { return m_read_only; }
  std::uint32_t format_version() const noexcept { return m_format_version; }
  // The current map size of this process's view of the environment.
  std::uint64_t map_bytes() const noexcept;

  // A read transaction (MDB_RDONLY). When another process has grown the map (MDB_MAP_RESIZED),
  // adopts the new size under the exclusive gate and retries.
  util::Result<ReadTxn> begin_read() const;
  // mdb_env_set_mapsize(`bytes`) under the exclusive gate (0 adopts the size in the file), after
  // reserve(bytes). The calling thread must not hold the gate or have a transaction open.
  // Returns the LMDB code or errno (ENOSPC when the disk cannot hold the larger map).
  int resize(std::uint64_t bytes) const noexcept;
  // Writes our pid into ssestitch.lock (exclusive opens only, once open has succeeded).
  void publish_pid() const noexcept;

 private:
  Env() = default;
  // A writer allocates data.mdb's blocks up to the map size (`bytes`) before it uses them, so a
  // full disk shows as ENOSPC when the store opens or its map grows (the store lowers its limit
  // and evicts against it), never in the middle of a commit. Returns errno; 0 when read-only.
  int reserve(std::uint64_t bytes) const noexcept;

  UniqueFd m_lock_fd;  // declared first: released last
  EnvPtr m_env;
  Dbis m_dbi;
  std::string m_dir;
  mutable MapGate m_gate;
  std::uint32_t m_page_size = 4096;
  std::uint32_t m_format_version = 0;
  bool m_read_only = false;
};

}  // namespace ssestitch::store::lmdb
