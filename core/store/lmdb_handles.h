#pragma once
// RAII owners of LMDB's C handles (STYLE.md habit 11) and the small helpers every LMDB call site
// in core/store needs. Private to core/store: this is one of the two places that include lmdb.h.
//
// Lifetimes follow lmdb.h: a cursor must be closed before its transaction ends (a write
// transaction frees its cursors itself, so closing afterwards would be a double free); a
// transaction is freed by mdb_txn_commit even when the commit fails; the environment is closed
// last, after every transaction of this process has ended.

#include <lmdb.h>
#include <pthread.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/util/errc.h"

namespace ssestitch::store::lmdb {

struct EnvCloser {
  void operator()(MDB_env* env) const noexcept { mdb_env_close(env); }
};
using EnvPtr = std::unique_ptr<MDB_env, EnvCloser>;

struct TxnAborter {
  void operator()(MDB_txn* txn) const noexcept { mdb_txn_abort(txn); }
};
using TxnPtr = std::unique_ptr<MDB_txn, TxnAborter>;

struct CursorCloser {
  void operator()(MDB_cursor* cursor) const noexcept { mdb_cursor_close(cursor); }
};
using CursorPtr = std::unique_ptr<MDB_cursor, CursorCloser>;

// Commits and gives up ownership in one step: mdb_txn_commit frees the handle whatever it
// returns, so the owner must not abort it afterwards. Close the transaction's cursors first.
inline int commit(TxnPtr& txn) noexcept { return mdb_txn_commit(txn.release()); }

inline MDB_val val(const void* data, std::size_t size) noexcept {
  // LMDB never writes through mv_data of a key or value it is given (lmdb.h, mdb_put), but the
  // field is a non-const void*.
  return MDB_val{size, const_cast<void*>(data)};
}
inline MDB_val val(std::string_view s) noexcept { return val(s.data(), s.size()); }
inline std::string_view view(const MDB_val& v) noexcept {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// "call(path): <mdb_strerror(rc)>", e.g.
// "mdb_env_open(/x/store): MDB_INVALID: File is not an LMDB file".
std::string message(std::string_view call, std::string_view path, int rc);
// "call(path): <strerror(err)>", for the store's own file calls.
std::string errno_message(std::string_view call, std::string_view path, int err);
// The Errc for an LMDB or errno failure outside of open(): MDB_MAP_FULL -> store_full,
// MDB_CORRUPTED / MDB_PAGE_NOTFOUND / MDB_PANIC / MDB_INVALID -> store_corrupt,
// MDB_VERSION_MISMATCH -> store_version, anything else -> `fallback`.
util::Errc errc_for(int rc, util::Errc fallback) noexcept;

// A reader-writer lock that prefers the writer, guarding mdb_env_set_mapsize: LMDB requires
// that no transaction of this process is active while the map is resized, so every
// transaction holds the gate shared and a resize holds it exclusively. Writer preference keeps
// a steady stream of readers from starving the resize. Not recursive: a thread holding it
// shared must not take it again. Satisfies SharedLockable (std::shared_lock) and Lockable.
class MapGate {
 public:
  MapGate() noexcept;
  ~MapGate();
  MapGate(const MapGate&) = delete;
  MapGate& operator=(const MapGate&) = delete;

  void lock() noexcept { pthread_rwlock_wrlock(&m_lock); }
  void unlock() noexcept { pthread_rwlock_unlock(&m_lock); }
  void lock_shared() noexcept { pthread_rwlock_rdlock(&m_lock); }
  void unlock_shared() noexcept { pthread_rwlock_unlock(&m_lock); }

 private:
  pthread_rwlock_t m_lock;
};

}  // namespace ssestitch::store::lmdb
