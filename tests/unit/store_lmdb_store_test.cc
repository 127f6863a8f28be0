// LmdbStore beyond the shared contract: open rules, files and modes, the lock, persistence,
// the writer queue, sync modes, map growth and a full map.
#include <doctest/doctest.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/store/lmdb_store.h"
#include "tests/unit/store_test_support.h"

using namespace ssestitch;
using namespace ssestitch::store;
using namespace ssestitch::test;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("store");

namespace {

LmdbOptions options(const std::string& dir, SyncMode sync = SyncMode::none) {
  LmdbOptions o;
  o.dir = dir;
  o.sync = sync;
  o.retention = keep_all();
  return o;
}

std::unique_ptr<LmdbStore> open_ok(const LmdbOptions& o) {
  auto s = LmdbStore::open(o);
  REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
  return std::move(*s);
}

std::string read_file(const fs::path& p) {
  std::string out;
  if (std::FILE* f = std::fopen(p.c_str(), "rb")) {
    char buf[8192];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Writes key/value pairs into an LMDB environment directly (another program's store, or a
// tampered meta record); `db` empty means the main database.
void lmdb_put(const std::string& dir, const char* db, const std::string& key, const std::string& value) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 8);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0600) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi = 0;
  REQUIRE(mdb_dbi_open(txn, db, MDB_CREATE, &dbi) == 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

// Holds the writer thread inside the first commit callback until released, so that the batches
// submitted meanwhile pile up in the queue.
struct WriterLatch {
  std::mutex m;
  std::condition_variable cv;
  bool entered = false;
  bool released = false;

  CommitCallback hold() {
    return [this](const util::Result<CommitInfo>&) {
      std::unique_lock lk(m);
      entered = true;
      cv.notify_all();
      cv.wait(lk, [&] { return released; });
    };
  }
  void wait_entered() {
    std::unique_lock lk(m);
    cv.wait(lk, [&] { return entered; });
  }
  void release() {
    std::lock_guard lk(m);
    released = true;
    cv.notify_all();
  }
};

}  // namespace

TEST_CASE("store::LmdbStore::open creates the store") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "store";
  {
    auto s = open_ok(options(dir.string()));
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(dir / "data.mdb") == 0600);
    CHECK(mode_of(dir / "lock.mdb") == 0600);
    CHECK(mode_of(dir / "ssestitch.lock") == 0600);
    CHECK(mode_of(dir / "journal") == 0600);
    CHECK(std::filesystem::file_size(dir / "journal") == LmdbOptions{}.journal_bytes);
    CHECK(read_file(dir / "ssestitch.lock") == std::to_string(::getpid()) + "\n");
    auto st = s->stats();
    REQUIRE(st);
    CHECK(st->format_version == LmdbStore::k_format_version);
    CHECK(st->map_bytes == LmdbOptions{}.initial_map_bytes);
  }
  CHECK(names_in(dir) == std::vector<std::string>{"data.mdb", "journal", "lock.mdb", "ssestitch.lock"});
}

TEST_CASE("store::LmdbStore::open refuses what is not its store") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "store";

  SUBCASE("a regular file") {
    write_file(dir, "not a directory");
    auto s = LmdbStore::open(options(dir.string()));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == util::Errc::store_not_a_store);
    CHECK(s.error().message == dir.string() + ": not a directory (a store is a directory)");
    CHECK(read_file(dir) == "not a directory");
  }
  SUBCASE("data.mdb that is not an LMDB file") {
    fs::create_directory(dir);
    const std::string garbage(20000, 'x');
    write_file(dir / "data.mdb", garbage);
    for (bool ro : {false, true}) {
      LmdbOptions o = options(dir.string());
      o.read_only = ro;
      auto s = LmdbStore::open(o);
      REQUIRE_FALSE(s);
      CHECK(s.error().code == util::Errc::store_not_a_store);
      CHECK(s.error().message == "mdb_env_open(" + dir.string() + "): MDB_INVALID: File is not an LMDB file");
    }
    CHECK(read_file(dir / "data.mdb") == garbage);
    // Read-only opens may leave LMDB's lock.mdb (another process could be using it), but a
    // refused writable open removes everything it created.
    fs::remove(dir / "lock.mdb");
    auto s = LmdbStore::open(options(dir.string()));
    REQUIRE_FALSE(s);
    CHECK(names_in(dir) == std::vector<std::string>{"data.mdb"});
  }
  SUBCASE("another program's LMDB environment") {
    fs::create_directory(dir);
    lmdb_put(dir.string(), nullptr, "hello", "world");
    const std::string before = read_file(dir / "data.mdb");
    auto s = LmdbStore::open(options(dir.string()));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == util::Errc::store_not_a_store);
    CHECK(s.error().message ==
          dir.string() + ": an LMDB environment that is not an ssestitch store (it has no \"meta\" database)");
    CHECK(read_file(dir / "data.mdb") == before);
    CHECK(names_in(dir) == std::vector<std::string>{"data.mdb", "lock.mdb"});
  }
  SUBCASE("another program's LMDB environment with a meta database") {
    fs::create_directory(dir);
    lmdb_put(dir.string(), "meta", "magic", "something-else");
    auto s = LmdbStore::open(options(dir.string()));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == util::Errc::store_not_a_store);
    CHECK(s.error().message == dir.string() +
                                   ": an LMDB environment that is not an ssestitch store (its meta magic is not "
                                   "\"ssestitch-store\")");
  }
  SUBCASE("another format version") {
    {
      auto s = open_ok(options(dir.string()));
      REQUIRE(commit(*s, events_batch(1, 1, 3)));
    }
    lmdb_put(dir.string(), "meta", "format_version", std::string("\0\0\0\x04", 4));
    const std::string before = read_file(dir / "data.mdb");
    for (bool ro : {false, true}) {
      LmdbOptions o = options(dir.string());
      o.read_only = ro;
      auto s = LmdbStore::open(o);
      REQUIRE_FALSE(s);
      CHECK(s.error().code == util::Errc::store_version);
      CHECK(s.error().message == dir.string() +
                                     ": store format version 4, but this ssestitch reads version 3 (no migration "
                                     "exists; the store was left untouched)");
    }
    CHECK(read_file(dir / "data.mdb") == before);
  }
  // A version 1 or 2 store is read as it is, and upgraded by a writable open.
  const auto upgraded = [&](char old) {
    {
      auto s = open_ok(options(dir.string()));
      REQUIRE(commit(*s, events_batch(1, 1, 3)));
    }
    lmdb_put(dir.string(), "meta", "format_version", std::string("\0\0\0", 3) + old);
    {
      LmdbOptions o = options(dir.string());
      o.read_only = true;
      auto s = LmdbStore::open(o);
      REQUIRE(s);
      CHECK((*s)->stats()->format_version == static_cast<std::uint32_t>(old));
      CHECK((*s)->stats()->events == 3);
    }
    auto s = open_ok(options(dir.string()));
    CHECK(s->stats()->format_version == 3);
    CHECK(s->stats()->events == 3);
  };
  SUBCASE("a version 1 store is upgraded") { upgraded('\x01'); }
  SUBCASE("a version 2 store is upgraded") { upgraded('\x02'); }
  SUBCASE("a malformed format_version is corruption") {
    { open_ok(options(dir.string())); }
    lmdb_put(dir.string(), "meta", "format_version", "1");
    auto s = LmdbStore::open(options(dir.string()));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == util::Errc::store_corrupt);
  }
  SUBCASE("read-only open of a missing store") {
    LmdbOptions o = options(dir.string());
    o.read_only = true;
    auto s = LmdbStore::open(o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == util::Errc::store_open_failed);
    CHECK(s.error().message == dir.string() + ": no such store (the directory does not exist)");
    CHECK_FALSE(fs::exists(dir));
    fs::create_directory(dir);
    s = LmdbStore::open(o);
    REQUIRE_FALSE(s);
    CHECK(s.error().code == util::Errc::store_open_failed);
    CHECK(s.error().message == dir.string() + ": no such store (no data.mdb)");
    CHECK(fs::is_empty(dir));
  }
  SUBCASE("a missing parent directory") {
    auto s = LmdbStore::open(options((dir / "deeper").string()));
    REQUIRE_FALSE(s);
    CHECK(s.error().code == util::Errc::store_open_failed);
    CHECK(s.error().message == "mkdir(" + (dir / "deeper").string() + "): No such file or directory");
  }
}

TEST_CASE("store::LmdbStore::open takes the lock") {
  TempDir tmp;
  const std::string dir = (tmp.path() / "store").string();
  auto first = open_ok(options(dir));
  auto second = LmdbStore::open(options(dir));
  REQUIRE_FALSE(second);
  CHECK(second.error().code == util::Errc::store_locked);
  CHECK(second.error().message == dir + ": the store is locked by pid " + std::to_string(::getpid()) + " (" + dir +
                                      "/ssestitch.lock); only one proxy may write a store");
  // The refusal changed nothing: the first store still works and still owns the lock.
  REQUIRE(commit(*first, events_batch(1, 1, 2)));
  CHECK(read_file(fs::path(dir) / "ssestitch.lock") == std::to_string(::getpid()) + "\n");
  first.reset();
  auto third = open_ok(options(dir));
  CHECK(seqs(*third, 1).size() == 2);
}

TEST_CASE("store::LmdbStore reopen") {
  TempDir tmp;
  const std::string dir = (tmp.path() / "store").string();
  {
    auto s = open_ok(options(dir));
    CHECK(s->allocate_stream_number() == 1);
    CHECK(s->allocate_stream_number() == 2);
    REQUIRE(commit(*s, events_batch(5, 1, 4, 16, 1000, "")));
  }
  auto s = open_ok(options(dir));
  CHECK(s->allocate_stream_number() == 6);
  CHECK(seqs(*s, 5) == std::vector<std::uint64_t>{1, 2, 3, 4});
  CHECK((*s->stream(5))->next_seq == 5);
  CHECK(s->metrics().commits == 0);

  SUBCASE("writes only move forward across a restart") {
    Batch b;
    b.events = {event(5, 4, "again"), event(5, 5, "new")};
    REQUIRE(commit(*s, std::move(b)));
    auto evs = s->events(5, 3, 10);
    REQUIRE(evs->size() == 2);
    CHECK((*evs)[0].data == std::string(16, 'd'));
    CHECK((*evs)[1].data == "new");
  }
  SUBCASE("read-only open sees the data and refuses writes") {
    s.reset();
    LmdbOptions o = options(dir);
    o.read_only = true;
    auto ro = open_ok(o);
    CHECK(seqs(*ro, 5).size() == 4);
    auto r = ro->submit(events_batch(5, 5, 5), nullptr);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::store_closed);
    CHECK(r.error().message == dir + ": the store is open read-only");
    CHECK(ro->flush());
    CHECK(ro->metrics().commits == 0);
  }
}

TEST_CASE("store::LmdbStore on a copy of a crashed process's store") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "store";
  const fs::path copy = tmp.path() / "copy";
  auto s = open_ok(options(dir.string()));
  REQUIRE(commit(*s, events_batch(1, 1, 10)));
  // While the writer is still open (as if it were killed now), copy its files.
  fs::create_directory(copy);
  for (const char* f : {"data.mdb", "lock.mdb", "ssestitch.lock"}) fs::copy_file(dir / f, copy / f);
  s.reset();
  {
    LmdbOptions o = options(copy.string());
    o.read_only = true;
    auto ro = open_ok(o);
    CHECK(seqs(*ro, 1).size() == 10);
  }
  auto rw = open_ok(options(copy.string()));  // a stale pid in ssestitch.lock does not block
  REQUIRE(commit(*rw, events_batch(1, 11, 11)));
  CHECK(seqs(*rw, 1).size() == 11);
}

TEST_CASE("store::LmdbStore group commit") {
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string());
  o.inline_commits = false;  // the latch holds the writer thread inside a callback
  auto s = open_ok(o);
  WriterLatch latch;
  REQUIRE(s->submit(events_batch(1, 1, 1), latch.hold()));
  latch.wait_entered();
  std::vector<int> order;
  std::mutex m;
  for (int i = 0; i < 200; ++i) {
    const auto seq = static_cast<std::uint64_t>(i + 2);
    REQUIRE(s->submit(events_batch(1, seq, seq), [&, i](const util::Result<CommitInfo>& r) {
      CHECK(r);
      std::lock_guard lk(m);
      order.push_back(i);
    }));
  }
  latch.release();
  REQUIRE(s->flush());
  CHECK(s->metrics().commits == 2);  // the first batch, then the other 200 in one transaction
  REQUIRE(order.size() == 200);
  CHECK(std::is_sorted(order.begin(), order.end()));
  CHECK(seqs(*s, 1).size() == 201);
  CHECK((*s->stream(1))->next_seq == 202);
}

TEST_CASE("store::LmdbStore a queue longer than group_max_bytes commits in several transactions") {
  // In order, each transaction of bounded size (one huge transaction that writes and trims
  // thousands of events leaves LMDB a long free list that later commits rewrite: lmdb_writer.h).
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string());
  o.inline_commits = false;  // the latch holds the writer thread inside a callback
  // Four of the batches below to a transaction (their sizes differ by a few bytes of ids).
  o.group_max_bytes = 4 * events_batch(1, 192, 201, 1000).bytes();
  auto s = open_ok(o);
  WriterLatch latch;
  REQUIRE(s->submit(events_batch(1, 1, 1), latch.hold()));
  latch.wait_entered();
  std::vector<std::uint64_t> order;
  std::mutex m;
  for (std::uint64_t first = 2; first < 2 + 20 * 10; first += 10) {
    REQUIRE(s->submit(events_batch(1, first, first + 9, 1000), [&, first](const util::Result<CommitInfo>& r) {
      CHECK(r);
      std::lock_guard lk(m);
      order.push_back(first);
    }));
  }
  // One batch larger than the bound still commits (alone).
  REQUIRE(s->submit(events_batch(1, 202, 301, 1000), [&](const util::Result<CommitInfo>& r) {
    CHECK(r);
    std::lock_guard lk(m);
    order.push_back(202);
  }));
  latch.release();
  REQUIRE(s->flush());
  REQUIRE(order.size() == 21);
  CHECK(std::is_sorted(order.begin(), order.end()));
  CHECK(seqs(*s, 1).size() == 301);
  CHECK((*s->stream(1))->next_seq == 302);
  CHECK(s->metrics().commits == 1 + 20 / 4 + 1);  // the held one, five groups of four, the large one
}

TEST_CASE("store::LmdbStore queue bound") {
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string());
  o.queue_max_bytes = 20'000;
  o.inline_commits = false;
  auto s = open_ok(o);
  WriterLatch latch;
  REQUIRE(s->submit(events_batch(1, 1, 1), latch.hold()));
  latch.wait_entered();
  std::uint64_t seq = 2;
  int accepted = 0;
  for (;; ++seq) {
    auto r = s->submit(events_batch(1, seq, seq, 1000), nullptr);
    if (!r) {
      CHECK(r.error().code == util::Errc::store_queue_full);
      break;
    }
    ++accepted;
    REQUIRE(accepted < 100);
  }
  CHECK(accepted >= 15);
  CHECK(s->metrics().queue_full == 1);
  latch.release();
  REQUIRE(s->flush());
  REQUIRE(s->submit(events_batch(1, seq, seq, 1000), nullptr));  // room again after the commit
  REQUIRE(s->flush());
  CHECK(seqs(*s, 1).size() == seq);
}

TEST_CASE("store::LmdbStore sync modes") {
  for (SyncMode mode : {SyncMode::always, SyncMode::batch, SyncMode::none}) {
    CAPTURE(to_string(mode));
    TempDir tmp;
    LmdbOptions o = options((tmp.path() / "store").string(), mode);
    o.sync_interval_ms = 5;
    {
      auto s = open_ok(o);
      for (std::uint64_t i = 0; i < 20; ++i) REQUIRE(commit(*s, events_batch(1, i * 5 + 1, i * 5 + 5)));
    }
    auto s = open_ok(o);
    CHECK(seqs(*s, 1).size() == 100);
  }
  CHECK(*parse_sync_mode("always") == SyncMode::always);
  CHECK(*parse_sync_mode("batch") == SyncMode::batch);
  CHECK(*parse_sync_mode("none") == SyncMode::none);
  auto bad = parse_sync_mode("sometimes");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == util::Errc::invalid_argument);
  CHECK(bad.error().message == "invalid sync mode \"sometimes\" (expected always, batch or none)");
}

TEST_CASE("store::LmdbStore --sync batch syncs a lone commit after an idle spell") {
  // The writer's idle wake is an hour away: only the first commit's wake-up can bring the sync
  // forward to --sync-interval (it did not: the sync waited for the idle wake, up to 1 s).
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string(), SyncMode::batch);
  o.sync_interval_ms = 20;
  o.idle_wake_ms = 3'600'000;
  auto s = open_ok(o);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    const std::uint64_t before = s->metrics().syncs;
    REQUIRE(s->submit(events_batch(1, seq, seq), nullptr));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);  // never hangs
    while (s->metrics().syncs == before && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(s->metrics().syncs == before + 1);
  }
}

TEST_CASE("store::LmdbStore an inline commit at the store's limit evicts a bounded amount") {
  // An inline commit runs on the proxy's loop: at the limit it must not carry a store-level
  // eviction of thousands of events (it did: 4,096 in one commit), only 64 plus two per event it
  // writes. With --sync none and the idle wake an hour away the writer thread never runs, so
  // every eviction below is an inline commit's. Without the journal, which would hand the
  // batches to the writer thread (its transactions are not light).
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string());
  o.journal_bytes = 0;
  o.initial_map_bytes = 1u << 20;
  o.retention.store_max_bytes = 4u << 20;
  o.idle_wake_ms = 3'600'000;
  auto s = open_ok(o);
  const std::thread::id caller = std::this_thread::get_id();
  std::uint64_t max_step = 0;
  std::uint64_t inline_commits = 0;
  auto submit = [&](Batch b, std::uint64_t allowed) {
    std::thread::id where;
    const std::uint64_t before = s->metrics().events_evicted;
    REQUIRE(s->submit(std::move(b), [&](const util::Result<CommitInfo>& r) {
      CHECK(r);
      where = std::this_thread::get_id();
    }));
    REQUIRE(s->flush());
    if (where != caller) return;
    ++inline_commits;
    const std::uint64_t step = s->metrics().events_evicted - before;
    CHECK(step <= allowed);
    max_step = std::max(max_step, step);
  };
  // 10 streams x 500 events x 1000 bytes, 50 to a commit: past the limit from the fourth stream.
  for (std::uint64_t stream = 1; stream <= 10; ++stream) {
    for (std::uint64_t first = 1; first <= 500; first += 50) {
      submit(events_batch(stream, first, first + 49, 1000, static_cast<std::int64_t>(stream * 100 + first)),
             64 + 2 * 50);
    }
  }
  // Then one event to a commit.
  for (std::uint64_t seq = 1; seq <= 300; ++seq) {
    submit(events_batch(11, seq, seq, 1000, 2000 + static_cast<std::int64_t>(seq)), 64 + 2);
  }
  CHECK(inline_commits > 300);
  CHECK(max_step > 0);  // evictions happened, all of them in inline commits
  auto st = s->stats();
  REQUIRE(st);
  CHECK(st->file_bytes <= 4u << 20);
  CHECK_FALSE(s->metrics().degraded);
  CHECK(s->metrics().events_evicted + st->events == 10 * 500 + 300);
}

TEST_CASE("store::LmdbStore commits inline when the writer is idle") {
  // Inline: a transaction on the caller's thread, or with the journal a frame appended there
  // (the writer thread applies it later); either way the callback comes before submit() returns.
  for (const std::uint64_t journal : {std::uint64_t{0}, LmdbOptions{}.journal_bytes})
  for (SyncMode mode : {SyncMode::always, SyncMode::batch, SyncMode::none}) {
    CAPTURE(to_string(mode));
    CAPTURE(journal);
    TempDir tmp;
    LmdbOptions o = options((tmp.path() / "store").string(), mode);
    o.sync_interval_ms = 5;
    o.journal_bytes = journal;
    auto s = open_ok(o);
    const std::thread::id caller = std::this_thread::get_id();
    for (std::uint64_t i = 1; i <= 50; ++i) {
      std::atomic<bool> called = false;
      std::thread::id where;  // read only once `called` (release/acquire) says it was written
      REQUIRE(s->submit(events_batch(1, i, i), [&](const util::Result<CommitInfo>& r) {
        CHECK(r);
        where = std::this_thread::get_id();
        called = true;
      }));
      if (mode == SyncMode::always) {
        REQUIRE(s->flush());  // always: every commit is fsynced on the writer thread
        CHECK(where != caller);
      } else if (called) {
        CHECK(where == caller);  // inline: done before submit() returned
      } else {
        REQUIRE(s->flush());     // the writer was busy (its periodic sync): queued instead
      }
      CHECK(called);
    }
    REQUIRE(s->flush());
    CHECK(seqs(*s, 1).size() == 50);
    if (mode != SyncMode::always && journal == 0) CHECK(s->metrics().commits >= 50);
  }
}

TEST_CASE("store::LmdbStore commits a batch marked backlog on its writer thread") {
  // The producer is behind its upstream: it reads on while the writer thread commits, rather
  // than waiting for an inline commit (Batch::backlog).
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string(), SyncMode::none);
  o.idle_wake_ms = 3'600'000;  // the writer thread never runs on its own: the last commit is inline
  auto s = open_ok(o);
  const std::thread::id caller = std::this_thread::get_id();
  for (std::uint64_t i = 1; i <= 20; ++i) {
    std::atomic<bool> called = false;
    std::thread::id where;  // read only once `called` (release/acquire) says it was written
    Batch b = events_batch(1, i, i);
    b.backlog = true;
    REQUIRE(s->submit(std::move(b), [&](const util::Result<CommitInfo>& r) {
      CHECK(r);
      where = std::this_thread::get_id();
      called = true;
    }));
    REQUIRE(s->flush());
    REQUIRE(called);
    CHECK(where != caller);
  }
  // Unmarked, the same batch commits inline again (the writer is idle: --sync none).
  bool inline_done = false;
  REQUIRE(s->submit(events_batch(1, 21, 21), [&](const util::Result<CommitInfo>& r) {
    CHECK(r);
    inline_done = std::this_thread::get_id() == caller;
  }));
  CHECK(inline_done);
  CHECK(seqs(*s, 1).size() == 21);
}

TEST_CASE("store::LmdbStore an inline commit never overtakes a queued batch") {
  // Two submitters (as two loop threads would be) keep the writer busy enough that batches are
  // sometimes queued and sometimes committed inline. Each stream's batches must commit in the
  // order they were submitted: callbacks run inside the commit, so their order is the commit
  // order. (Seen before the writer took m_txn_mutex ahead of its group: the other submitter
  // committed a newer batch inline while the writer held an older one taken off the queue.)
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string(), SyncMode::none);
  auto s = open_ok(o);
  constexpr std::uint64_t k_batches = 4000;
  std::mutex m;
  std::vector<std::uint64_t> order[2];
  auto submitter = [&](std::uint64_t stream) {
    for (std::uint64_t seq = 1; seq <= k_batches; ++seq) {
      auto r = s->submit(events_batch(stream, seq, seq), [&, stream, seq](const util::Result<CommitInfo>& c) {
        CHECK(c);
        std::lock_guard lk(m);
        order[stream - 1].push_back(seq);
      });
      CHECK(r);  // not REQUIRE: its exception would leave the thread and terminate the run
      if (!r) return;
    }
  };
  std::thread a(submitter, 1);
  std::thread b(submitter, 2);
  a.join();
  b.join();
  REQUIRE(s->flush());
  for (std::uint64_t stream : {1, 2}) {
    CAPTURE(stream);
    REQUIRE(order[stream - 1].size() == k_batches);
    CHECK(std::is_sorted(order[stream - 1].begin(), order[stream - 1].end()));
    CHECK(seqs(*s, stream).size() == k_batches);
  }
}

TEST_CASE("store::LmdbStore destructor drains the queue") {
  TempDir tmp;
  const std::string dir = (tmp.path() / "store").string();
  std::atomic<int> ok{0};
  {
    auto s = open_ok(options(dir, SyncMode::batch));
    for (std::uint64_t i = 1; i <= 1000; ++i) {
      REQUIRE(s->submit(events_batch(1, i, i), [&](const util::Result<CommitInfo>& r) { ok += r ? 1 : 0; }));
    }
  }
  CHECK(ok.load() == 1000);
  auto s = open_ok(options(dir));
  CHECK(seqs(*s, 1).size() == 1000);
}

TEST_CASE("store::LmdbStore map growth and store-level eviction") {
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string());
  o.initial_map_bytes = 1u << 20;
  o.retention.store_max_bytes = 4u << 20;
  auto s = open_ok(o);
  CHECK(s->stats()->map_bytes == 1u << 20);
  int failed = 0;
  std::atomic<int> committed{0};
  // 40 streams x 200 events x 1000 bytes, one stream after the other: twice the store's limit.
  for (std::uint64_t stream = 1; stream <= 40; ++stream) {
    for (std::uint64_t round = 0; round < 4; ++round) {
      const std::uint64_t first = round * 50 + 1;
      Batch b = events_batch(stream, first, first + 49, 1000, static_cast<std::int64_t>(stream * 10 + round));
      auto r = s->submit(std::move(b), [&](const util::Result<CommitInfo>& res) {
        if (res) {
          ++committed;
        } else {
          ++failed;
        }
      });
      REQUIRE(r);
      REQUIRE(s->flush());
    }
  }
  CHECK(failed == 0);
  CHECK(committed.load() == 160);
  auto st = s->stats();
  REQUIRE(st);
  CHECK(st->map_bytes == 4u << 20);
  CHECK(st->file_bytes <= 4u << 20);
  CHECK(st->events < 40 * 200);
  const StoreMetrics m = s->metrics();
  CHECK(m.events_evicted > 0);
  CHECK(m.events_evicted + st->events == 40 * 200);
  CHECK_FALSE(m.degraded);
  // The least recently active streams lost their oldest events; the newest kept all of its.
  auto oldest = s->stream(1);
  CHECK((*oldest)->retained.evicted == 200);
  CHECK((*oldest)->retained.first_seq == 0);
  auto newest = s->stream(40);
  CHECK((*newest)->retained.evicted == 0);
  CHECK(seqs(*s, 40).size() == 200);
  // Retained counters agree with the data.
  for (std::uint64_t stream = 1; stream <= 40; ++stream) {
    auto rec = s->stream(stream);
    const auto q = seqs(*s, stream);
    CHECK((*rec)->retained.events == q.size());
    if (!q.empty()) CHECK((*rec)->retained.first_seq == q.front());
  }
}

TEST_CASE("store::LmdbStore a full map") {
  TempDir tmp;
  LmdbOptions o = options((tmp.path() / "store").string());
  o.initial_map_bytes = 1u << 20;
  o.retention.store_max_bytes = 1u << 20;
  o.inline_commits = false;  // a subcase holds the writer thread in a callback
  auto s = open_ok(o);
  REQUIRE(commit(*s, events_batch(1, 1, 10)));

  SUBCASE("an oversized batch fails with store_full, later batches recover") {
    auto r = commit(*s, events_batch(2, 1, 1, 2u << 20));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::store_full);
    CHECK(r.error().message.find("MDB_MAP_FULL") != std::string::npos);
    StoreMetrics m = s->metrics();
    CHECK(m.degraded);
    CHECK(m.write_errors == 1);
    CHECK(m.last_error == r.error().message);
    CHECK(seqs(*s, 1).size() == 10);  // nothing evicted for a batch that could never fit
    CHECK_FALSE(s->stream(2)->has_value());

    REQUIRE(commit(*s, events_batch(1, 11, 11)));
    m = s->metrics();
    CHECK_FALSE(m.degraded);
    CHECK(m.last_error == r.error().message);
    CHECK(seqs(*s, 1).size() == 11);
  }
  SUBCASE("one oversized batch in a group fails alone") {
    WriterLatch latch;
    REQUIRE(s->submit(events_batch(3, 1, 1), latch.hold()));
    latch.wait_entered();
    std::vector<std::string> results;
    std::mutex m;
    auto record = [&](const util::Result<CommitInfo>& res) {
      std::lock_guard lk(m);
      results.push_back(res ? "ok" : std::string(util::to_string(res.error().code)));
    };
    REQUIRE(s->submit(events_batch(1, 11, 11), record));
    REQUIRE(s->submit(events_batch(2, 1, 1, 2u << 20), record));
    REQUIRE(s->submit(events_batch(1, 12, 12), record));
    latch.release();
    REQUIRE(s->flush());
    CHECK(results == std::vector<std::string>{"ok", "store_full", "ok"});
    CHECK(seqs(*s, 1).size() == 12);
    CHECK_FALSE(s->metrics().degraded);
  }
}

TEST_SUITE_END();
