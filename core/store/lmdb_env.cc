#include "core/store/lmdb_env.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "core/store/lmdb_codec.h"
#include "core/store/lmdb_store.h"

namespace ssestitch::store::lmdb {
namespace {

using util::Errc;

// Files and the directory this open() created. Unless dismissed, they are removed again, so a
// refused open leaves the directory as it found it (an empty directory we made is removed too).
// LMDB's own files are removed only under our exclusive lock: without it, another process may
// have created lock.mdb between our check and mdb_env_open, and deleting a lock file in use
// would split the reader table and let a writer reuse pages a reader still sees.
struct CreatedFiles {
  std::string dir;
  bool own_lmdb_files = false;  // true once ssestitch.lock is held
  bool dir_created = false;
  bool data_created = false;
  bool lock_mdb_created = false;
  bool lock_file_created = false;
  bool dismissed = false;

  CreatedFiles() = default;
  CreatedFiles(const CreatedFiles&) = delete;
  CreatedFiles& operator=(const CreatedFiles&) = delete;
  ~CreatedFiles() {
    if (dismissed) return;
    if (lock_file_created) ::unlink((dir + "/" + k_lock_file).c_str());
    if (own_lmdb_files && data_created) ::unlink((dir + "/data.mdb").c_str());
    if (own_lmdb_files && lock_mdb_created) ::unlink((dir + "/lock.mdb").c_str());
    if (dir_created) ::rmdir(dir.c_str());
  }
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// Takes flock(LOCK_EX | LOCK_NB) on ssestitch.lock. flock locks belong to the open file
// description, so a second open of the same store from this very process is refused as well.
util::Result<UniqueFd> take_lock(const std::string& dir, CreatedFiles& created) {
  const std::string path = dir + "/" + k_lock_file;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    created.lock_file_created = true;
  } else if (errno == EEXIST) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) return util::fail(Errc::store_open_failed, errno_message("open", path, errno));
  UniqueFd owned(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return owned;
  const int err = errno;
  if (err != EWOULDBLOCK) return util::fail(Errc::store_open_failed, errno_message("flock", path, err));
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  return util::fail(Errc::store_locked,
                    dir + ": the store is locked by " + (pid.empty() ? "another process" : "pid " + pid) +
                        " (" + path + "); only one proxy may write a store");
}

util::Error open_error(const std::string& dir, int rc) {
  Errc code = Errc::store_open_failed;
  switch (rc) {
    case MDB_INVALID: code = Errc::store_not_a_store; break;
    case MDB_VERSION_MISMATCH: code = Errc::store_version; break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_PANIC: code = Errc::store_corrupt; break;
    default: break;
  }
  return util::fail(code, message("mdb_env_open", dir, rc));
}

// Writes the meta records and creates every sub-database of an empty environment.
util::Result<void> initialise(MDB_env* env, const std::string& dir, std::int64_t now_ms, Dbis& dbi) {
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env, nullptr, 0, &raw);
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_txn_begin", dir, rc));
  TxnPtr txn(raw);
  const std::pair<const char*, MDB_dbi*> dbs[] = {{"meta", &dbi.meta},
                                                  {"sessions", &dbi.sessions},
                                                  {"streams", &dbi.streams},
                                                  {"events", &dbi.events},
                                                  {"session_streams", &dbi.session_streams}};
  for (const auto& [name, out] : dbs) {
    rc = mdb_dbi_open(txn.get(), name, MDB_CREATE, out);
    if (rc != 0) {
      return util::fail(errc_for(rc, Errc::store_open_failed),
                        message("mdb_dbi_open", dir + " " + name, rc));
    }
  }
  char version[4];
  codec::put_u32_be(version, LmdbStore::k_format_version);
  char created[8];
  codec::put_u64_be(created, static_cast<std::uint64_t>(now_ms));
  const std::pair<std::string_view, std::string_view> meta[] = {
      {"magic", k_magic}, {"format_version", {version, 4}}, {"created_ms", {created, 8}}};
  for (const auto& [key, value] : meta) {
    MDB_val k = val(key);
    MDB_val v = val(value);
    rc = mdb_put(txn.get(), dbi.meta, &k, &v, 0);
    if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_put", dir, rc));
  }
  rc = commit(txn);
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_txn_commit", dir, rc));
  return util::ok();
}

}  // namespace

Env::~Env() = default;

util::Result<std::unique_ptr<Env>> Env::open(const LmdbOptions& options) {
  const std::string& dir = options.dir;
  if (dir.empty()) return util::fail(Errc::invalid_argument, "store directory is empty");
  CreatedFiles created;
  created.dir = dir;

  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return util::fail(Errc::store_not_a_store, dir + ": not a directory (a store is a directory)");
    }
  } else if (errno != ENOENT) {
    return util::fail(Errc::store_open_failed, errno_message("stat", dir, errno));
  } else if (options.read_only) {
    return util::fail(Errc::store_open_failed, dir + ": no such store (the directory does not exist)");
  } else {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return util::fail(Errc::store_open_failed, errno_message("mkdir", dir, errno));
    }
    created.dir_created = true;
  }

  const std::string data_path = dir + "/data.mdb";
  if (::stat(data_path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return util::fail(Errc::store_not_a_store, data_path + ": not a regular file");
  } else if (options.read_only) {
    return util::fail(Errc::store_open_failed, dir + ": no such store (no data.mdb)");
  }
  const bool data_existed = file_exists(data_path);
  created.data_created = !data_existed;
  created.lock_mdb_created = !file_exists(dir + "/lock.mdb");

  std::unique_ptr<Env> env(new Env());
  env->m_dir = dir;
  env->m_read_only = options.read_only;
  if (!options.read_only && options.exclusive) {
    auto lock = take_lock(dir, created);
    if (!lock) return std::move(lock).error();
    env->m_lock_fd = std::move(*lock);
    created.own_lmdb_files = true;
  }

  if (data_existed && !options.read_only) {
    // A writer extends the data file to the map size on open (reserve()): validate read-only
    // first, so that a file that is not our store (or of another version) is refused before
    // anything touches it (after the lock: a failed probe's lock.mdb is removed with the rest
    // of what this call created).
    LmdbOptions probe = options;
    probe.read_only = true;
    if (auto checked = open(probe); !checked) return std::move(checked).error();
  }
  MDB_env* raw = nullptr;
  int rc = mdb_env_create(&raw);
  if (rc != 0) return util::fail(Errc::store_open_failed, message("mdb_env_create", dir, rc));
  env->m_env.reset(raw);
  rc = mdb_env_set_maxdbs(raw, 8);
  if (rc != 0) return util::fail(Errc::store_open_failed, message("mdb_env_set_maxdbs", dir, rc));
  const std::uint64_t store_max = std::max<std::uint64_t>(options.retention.store_max_bytes, 1u << 20);
  const std::uint64_t initial_map =
      std::clamp<std::uint64_t>(options.initial_map_bytes, 1u << 20, store_max);
  if (!data_existed) {
    // An existing store keeps the map size recorded in its file (it may have grown past
    // initial_map_bytes); only a new one starts at initial_map_bytes.
    rc = mdb_env_set_mapsize(raw, initial_map);
    if (rc != 0) return util::fail(Errc::store_open_failed, message("mdb_env_set_mapsize", dir, rc));
  }
  unsigned flags = MDB_NOTLS;
  if (options.read_only) {
    flags |= MDB_RDONLY;
  } else {
    // No MDB_WRITEMAP: a commit writes its dirty pages (lseek+writev per run, pwrite for a lone
    // page) and its meta page (pwrite), about a dozen syscalls for one paced event
    // (lmdb_writer.h), instead of storing into a shared writable mapping. With WRITEMAP every
    // --sync batch msync write-protected the pages the loop was committing into while it ran,
    // and each commit then faulted: 100 paced streams had a p99 of 15-21 ms against 3.5-5.6 ms
    // without (figures and what it costs one stream: lmdb_writer.h).
    // Committed pages are in the page cache once the commit returns, so a killed process loses
    // nothing.
    if (options.sync != SyncMode::always) flags |= MDB_NOSYNC;
  }
  rc = mdb_env_open(raw, dir.c_str(), flags, 0600);
  if (rc != 0) return open_error(dir, rc);

  MDB_stat env_stat{};
  mdb_env_stat(raw, &env_stat);
  env->m_page_size = env_stat.ms_psize;
  if (!options.read_only && env->map_bytes() < initial_map) {
    rc = mdb_env_set_mapsize(raw, initial_map);
    if (rc != 0) return util::fail(Errc::store_open_failed, message("mdb_env_set_mapsize", dir, rc));
  }
  if (const int err = env->reserve(env->map_bytes()); err != 0) {
    return util::fail(Errc::store_open_failed,
                      errno_message("posix_fallocate", dir + "/data.mdb", err) +
                          " (the store reserves its whole map on disk: free space or lower --store-max)");
  }

  // Validate in a read transaction (nothing is written unless the environment is empty). The
  // DBI handles opened here stay valid for the environment's life once the txn commits.
  MDB_txn* rtxn_raw = nullptr;
  rc = mdb_txn_begin(raw, nullptr, MDB_RDONLY, &rtxn_raw);
  if (rc == MDB_MAP_RESIZED) {
    mdb_env_set_mapsize(raw, 0);
    rc = mdb_txn_begin(raw, nullptr, MDB_RDONLY, &rtxn_raw);
  }
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_txn_begin", dir, rc));
  TxnPtr rtxn(rtxn_raw);
  MDB_dbi main_dbi = 0;
  rc = mdb_dbi_open(rtxn.get(), nullptr, 0, &main_dbi);
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_dbi_open", dir, rc));
  MDB_stat main_stat{};
  rc = mdb_stat(rtxn.get(), main_dbi, &main_stat);
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_stat", dir, rc));

  if (main_stat.ms_entries == 0) {
    rtxn.reset();
    if (options.read_only) {
      return util::fail(Errc::store_open_failed, dir + ": no such store (the store is empty; it was never initialised)");
    }
    const util::Clock& clock = options.clock ? *options.clock : util::system_clock();
    auto init = initialise(raw, dir, clock.wall_ms(), env->m_dbi);
    if (!init) return std::move(init).error();
    env->m_format_version = LmdbStore::k_format_version;
    created.dismissed = true;
    return env;
  }

  // Not empty: it must be ours, of our version.
  const std::string not_ours = dir + ": an LMDB environment that is not an ssestitch store";
  rc = mdb_dbi_open(rtxn.get(), "meta", 0, &env->m_dbi.meta);
  if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
    return util::fail(Errc::store_not_a_store, not_ours + " (it has no \"meta\" database)");
  }
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_dbi_open", dir + " meta", rc));
  auto get_meta = [&](std::string_view key, std::string_view& out) {
    MDB_val k = val(key);
    MDB_val v{};
    const int r = mdb_get(rtxn.get(), env->m_dbi.meta, &k, &v);
    if (r == 0) out = view(v);
    return r;
  };
  std::string_view magic;
  rc = get_meta("magic", magic);
  if (rc == MDB_NOTFOUND || (rc == 0 && magic != k_magic)) {
    return util::fail(Errc::store_not_a_store, not_ours + " (its meta magic is not \"" + k_magic + "\")");
  }
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_corrupt), message("mdb_get", dir + " meta", rc));
  std::string_view version;
  rc = get_meta("format_version", version);
  if (rc != 0 || version.size() != 4) {
    return util::fail(Errc::store_corrupt, dir + ": the store's meta record \"format_version\" is missing or malformed");
  }
  env->m_format_version = codec::get_u32_be(version.data());
  if (env->m_format_version < 1 || env->m_format_version > LmdbStore::k_format_version) {
    return util::fail(Errc::store_version,
                      dir + ": store format version " + std::to_string(env->m_format_version) +
                          ", but this ssestitch reads version " + std::to_string(LmdbStore::k_format_version) +
                          " (no migration exists; the store was left untouched)");
  }
  const bool upgrade = env->m_format_version < LmdbStore::k_format_version && !options.read_only;
  const std::pair<const char*, MDB_dbi*> dbs[] = {{"sessions", &env->m_dbi.sessions},
                                                  {"streams", &env->m_dbi.streams},
                                                  {"events", &env->m_dbi.events},
                                                  {"session_streams", &env->m_dbi.session_streams}};
  for (const auto& [name, out] : dbs) {
    rc = mdb_dbi_open(rtxn.get(), name, 0, out);
    if (rc == MDB_NOTFOUND) {
      return util::fail(Errc::store_corrupt, dir + ": the store has no \"" + name + "\" database");
    }
    if (rc != 0) return util::fail(errc_for(rc, Errc::store_corrupt), message("mdb_dbi_open", dir + " " + name, rc));
  }
  rc = commit(rtxn);
  if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_txn_commit", dir, rc));
  if (upgrade) {  // version 1 or 2 -> 3: only the version changes (lmdb_store.h)
    MDB_txn* wtxn_raw = nullptr;
    rc = mdb_txn_begin(raw, nullptr, 0, &wtxn_raw);
    if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_txn_begin", dir, rc));
    TxnPtr wtxn(wtxn_raw);
    char version_be[4];
    codec::put_u32_be(version_be, LmdbStore::k_format_version);
    MDB_val k = val("format_version");
    MDB_val v = val(std::string_view(version_be, 4));
    rc = mdb_put(wtxn.get(), env->m_dbi.meta, &k, &v, 0);
    if (rc == 0) rc = commit(wtxn);
    if (rc != 0) return util::fail(errc_for(rc, Errc::store_open_failed), message("mdb_put format_version", dir, rc));
    env->m_format_version = LmdbStore::k_format_version;
  }
  created.dismissed = true;
  return env;
}

std::uint64_t Env::map_bytes() const noexcept {
  MDB_envinfo info{};
  mdb_env_info(m_env.get(), &info);
  return info.me_mapsize;
}

util::Result<ReadTxn> Env::begin_read() const {
  for (int attempt = 0;; ++attempt) {
    std::shared_lock gate(m_gate);
    MDB_txn* raw = nullptr;
    const int rc = mdb_txn_begin(m_env.get(), nullptr, MDB_RDONLY, &raw);
    if (rc == 0) return ReadTxn(std::move(gate), TxnPtr(raw));
    if (rc == MDB_MAP_RESIZED && attempt < 8) {
      // Another process grew the map beyond our mapping: adopt its size (lmdb.h,
      // mdb_txn_begin), which needs every transaction of this process to have ended.
      gate.unlock();
      resize(0);
      continue;
    }
    return util::fail(errc_for(rc, Errc::io_error), message("mdb_txn_begin", m_dir, rc));
  }
}

int Env::resize(std::uint64_t bytes) const noexcept {
  if (const int err = reserve(bytes); err != 0) return err;
  std::unique_lock gate(m_gate);
  return mdb_env_set_mapsize(m_env.get(), bytes);
}

int Env::reserve(std::uint64_t bytes) const noexcept {
  if (m_read_only || bytes == 0) return 0;
  int fd = -1;
  if (mdb_env_get_fd(m_env.get(), &fd) != 0) return EBADF;
  // Allocates only the blocks not yet allocated; glibc emulates it where the file system lacks
  // fallocate.
  const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (err != 0) {
    // A failed fallocate may keep what it allocated: give back what lies beyond the map.
    struct stat st {};
    const std::uint64_t mapped = map_bytes();
    if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > mapped) {
      [[maybe_unused]] const int rc = ::ftruncate(fd, static_cast<off_t>(mapped));
    }
  }
  return err;
}

void Env::publish_pid() const noexcept {
  const int fd = m_lock_fd.get();
  if (fd < 0) return;
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] const ssize_t n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
}

}  // namespace ssestitch::store::lmdb
