#pragma once
// Helpers shared by the store unit tests: one fixture per SessionStore implementation, so that
// the contract tests (store_contract_test.cc) run unchanged against LmdbStore, RedisStore (on
// a real redis-server and on a real three-master Redis Cluster, redis_server.h) and MemoryStore,
// plus record builders and a synchronous commit.

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/store/lmdb_store.h"
#include "core/store/memory_store.h"
#include "core/store/redis_store.h"
#include "core/store/session_store.h"
#include "core/util/clock.h"
#include "tests/unit/redis_server.h"
#include "tests/unit/test_support.h"

namespace ssestitch::net {
class EventLoop;
}

namespace ssestitch::test {

// An event loop for RedisFixture's on_loop stores, and the attaching (store_test_support.cc:
// event_loop.h declares a global `struct event` that would clash with event() below).
std::shared_ptr<net::EventLoop> make_store_loop();
void attach_store_loop(store::SessionStore& s, net::EventLoop& loop);

// Opens stores of one kind. open() may be called again after the previous store was
// destroyed; a persistent fixture then sees the same data.
class StoreFixture {
 public:
  virtual ~StoreFixture() = default;
  virtual std::unique_ptr<store::SessionStore> open(const store::Retention& retention,
                                                    const util::Clock* clock) = 0;
  virtual bool persistent() const = 0;
  // What stats() reports beyond the common figures.
  virtual void check_stats(const store::StoreStats& st) const = 0;
};

class LmdbFixture final : public StoreFixture {
 public:
  std::unique_ptr<store::SessionStore> open(const store::Retention& retention,
                                            const util::Clock* clock) override {
    store::LmdbOptions o;
    o.dir = (m_dir.path() / "store").string();
    o.sync = store::SyncMode::none;
    o.retention = retention;
    o.clock = clock;
    auto s = store::LmdbStore::open(o);
    REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
    return std::move(*s);
  }
  bool persistent() const override { return true; }
  void check_stats(const store::StoreStats& st) const override {
    CHECK(st.format_version == store::LmdbStore::k_format_version);
    CHECK(st.file_bytes > 0);
    CHECK(st.map_bytes >= st.file_bytes);
  }

 private:
  TempDir m_dir{"lmdb"};
};

// A key prefix of its own on the shared test redis-server (or, `cluster`, on the shared
// three-master cluster): reopening sees the same data. `on_loop`: the store is attached to an
// event loop of the test thread (as the proxy attaches its own), so commits from this thread go
// out on the loop's connection; the loop is never run, flush() reads the replies (the path the
// proxy's shutdown takes; store_redis_store_test.cc runs the loop for real).
class RedisFixture final : public StoreFixture {
 public:
  explicit RedisFixture(bool cluster = false, bool on_loop = false) : m_cluster(cluster) {
    if (on_loop) m_loop = make_store_loop();
    static std::atomic<int> counter{0};
    std::string p(1, 't');  // (appended: g++ 12 reports a false -Wrestrict for "t" + std::string)
    p.append(std::to_string(getpid())).append("_").append(std::to_string(counter++));
    m_prefix = std::move(p);
  }
  std::unique_ptr<store::SessionStore> open(const store::Retention& retention,
                                            const util::Clock* clock) override {
    store::RedisOptions o;
    auto address = store::redis::parse_url(m_cluster ? RedisCluster::shared().url(m_prefix)
                                                     : RedisServer::shared().url(m_prefix));
    REQUIRE(address);
    o.address = *address;
    o.sync = store::SyncMode::none;
    o.retention = retention;
    o.clock = clock;
    auto s = store::RedisStore::open(o);
    REQUIRE_MESSAGE(s, (s ? "" : s.error().message));
    if (m_loop) attach_store_loop(**s, *m_loop);
    return std::move(*s);
  }
  bool persistent() const override { return true; }
  void check_stats(const store::StoreStats& st) const override {
    CHECK(st.format_version == store::RedisStore::k_format_version);
    CHECK(st.file_bytes > 0);  // the server's used_memory
  }
  const std::string& prefix() const { return m_prefix; }

 private:
  std::shared_ptr<net::EventLoop> m_loop;  // outlives the stores it serves
  bool m_cluster = false;
  std::string m_prefix;
};

class MemoryFixture final : public StoreFixture {
 public:
  std::unique_ptr<store::SessionStore> open(const store::Retention& retention,
                                            const util::Clock* clock) override {
    return std::make_unique<store::MemoryStore>(retention, clock);
  }
  bool persistent() const override { return false; }
  void check_stats(const store::StoreStats&) const override {}
};

// Runs `body` once per store kind, each in its own SUBCASE.
inline void for_each_store(const std::function<void(StoreFixture&)>& body) {
  SUBCASE("lmdb") {
    LmdbFixture f;
    body(f);
  }
  SUBCASE("redis") {
    RedisFixture f;
    body(f);
  }
  SUBCASE("redis-loop") {
    RedisFixture f(false, true);
    body(f);
  }
  SUBCASE("redis-cluster") {
    RedisFixture f(true);
    body(f);
  }
  SUBCASE("memory") {
    MemoryFixture f;
    body(f);
  }
}

// Retention that never removes anything, so tests control what goes.
inline store::Retention keep_all() {
  store::Retention r;
  r.max_events_per_stream = 0;
  r.max_bytes_per_stream = 0;
  r.max_age_ms = 0;
  r.idle_ttl_ms = 0;
  return r;
}

// Submits `batch`, waits until it committed and returns what its callback got.
inline util::Result<store::CommitInfo> commit(store::SessionStore& s, store::Batch batch) {
  std::mutex m;
  std::optional<util::Result<store::CommitInfo>> got;
  auto r = s.submit(std::move(batch), [&](const util::Result<store::CommitInfo>& res) {
    std::lock_guard lk(m);
    got = res;
  });
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  REQUIRE(s.flush());
  std::lock_guard lk(m);
  REQUIRE(got.has_value());
  return *got;
}

// "u<seq>", the upstream id the builders give event `seq`. (Built by appending: g++ 12 at -O2
// reports a false -Wrestrict for "u" + std::to_string(n).)
inline std::string upstream_id(std::uint64_t seq) {
  std::string id(1, 'u');
  id += std::to_string(seq);
  return id;
}

inline store::EventRecord event(std::uint64_t stream, std::uint64_t seq, std::string data = "",
                                std::int64_t arrival_ms = 1000) {
  return store::EventRecord{stream, seq, upstream_id(seq), "", std::move(data), arrival_ms};
}

inline store::StreamRecord stream_record(std::uint64_t stream, std::uint64_t next_seq, std::string session = "",
                                         std::int64_t last_active_ms = 1000) {
  store::StreamRecord r;
  r.stream = stream;
  r.session = std::move(session);
  r.kind = r.session.empty() ? store::StreamKind::generic : store::StreamKind::get;
  r.next_seq = next_seq;
  r.has_upstream_id = next_seq > 1;
  r.upstream_last_id = next_seq > 1 ? upstream_id(next_seq - 1) : "";
  r.created_ms = 1000;
  r.last_active_ms = last_active_ms;
  return r;
}

// A batch with events first..last of `stream` (data `size` bytes each) and the stream record
// advanced past them.
inline store::Batch events_batch(std::uint64_t stream, std::uint64_t first, std::uint64_t last,
                                 std::size_t size = 16, std::int64_t arrival_ms = 1000,
                                 std::string session = "") {
  store::Batch b;
  for (std::uint64_t q = first; q <= last; ++q) b.events.push_back(event(stream, q, std::string(size, 'd'), arrival_ms));
  b.streams.push_back(stream_record(stream, last + 1, std::move(session), arrival_ms));
  return b;
}

// The stored record of `stream`, which must exist.
inline store::StreamRecord stored_stream(const store::SessionStore& s, std::uint64_t stream) {
  auto rec = s.stream(stream);
  REQUIRE(rec);
  REQUIRE(rec->has_value());
  return **rec;
}

inline std::vector<std::uint64_t> seqs(const store::SessionStore& s, std::uint64_t stream) {
  auto evs = s.events(stream, 0, 1'000'000);
  REQUIRE(evs);
  std::vector<std::uint64_t> out;
  for (const auto& e : *evs) out.push_back(e.seq);
  return out;
}

}  // namespace ssestitch::test
