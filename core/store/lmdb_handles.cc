#include "core/store/lmdb_handles.h"

#include <cstdlib>
#include <cstring>

namespace ssestitch::store::lmdb {

std::string message(std::string_view call, std::string_view path, int rc) {
  std::string m(call);
  m += '(';
  m += path;
  m += "): ";
  m += mdb_strerror(rc);
  return m;
}

std::string errno_message(std::string_view call, std::string_view path, int err) {
  std::string m(call);
  m += '(';
  m += path;
  m += "): ";
  m += std::strerror(err);
  return m;
}

util::Errc errc_for(int rc, util::Errc fallback) noexcept {
  switch (rc) {
    case MDB_MAP_FULL: return util::Errc::store_full;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_PANIC:
    case MDB_INVALID: return util::Errc::store_corrupt;
    case MDB_VERSION_MISMATCH: return util::Errc::store_version;
    default: return fallback;
  }
}

MapGate::MapGate() noexcept {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  // glibc's default prefers readers; a resize must not wait behind an endless line of them.
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  if (pthread_rwlock_init(&m_lock, &attr) != 0) std::abort();  // only fails without memory
  pthread_rwlockattr_destroy(&attr);
}

MapGate::~MapGate() { pthread_rwlock_destroy(&m_lock); }

}  // namespace ssestitch::store::lmdb
