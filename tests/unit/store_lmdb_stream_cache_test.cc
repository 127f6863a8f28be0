#include <doctest/doctest.h>

#include <vector>

#include "core/store/lmdb_stream_cache.h"

using namespace ssestitch;
using store::lmdb::StreamCache;

namespace {

StreamCache::Entry entry(std::uint64_t stream, std::uint64_t events, std::int64_t last_active_ms) {
  StreamCache::Entry e;
  e.rec.stream = stream;
  e.rec.next_seq = events + 1;
  e.rec.retained.events = events;
  e.rec.last_active_ms = last_active_ms;
  e.last_seq = events;
  return e;
}

std::vector<std::uint64_t> by_activity(const StreamCache& c) {
  std::vector<std::uint64_t> out;
  for (const auto& [at, stream] : c.activity()) out.push_back(stream);
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("store");

TEST_CASE("lmdb::StreamCache: a rolled back transaction leaves the committed state") {
  StreamCache c;
  c.load(entry(1, 10, 100));
  c.load(entry(2, 5, 50));
  c.load(entry(3, 0, 10));  // no events: not in the activity order
  CHECK(by_activity(c) == std::vector<std::uint64_t>{2, 1});

  c.begin();
  StreamCache::Entry& one = c.touch(1);
  one.rec.next_seq = 99;
  one.last_seq = 98;
  c.mark_dirty(one);
  c.mark_dirty(one);  // listed once
  bool created = false;
  StreamCache::Entry& fresh = c.touch_or_create(7, &created);
  CHECK(created);
  CHECK(fresh.rec.stream == 7);
  c.mark_dirty(fresh);
  c.erase(2);
  CHECK(c.dirty() == std::vector<std::uint64_t>{1, 7});
  CHECK(c.find(2) == nullptr);
  c.rollback();

  REQUIRE(c.find(1) != nullptr);
  CHECK(c.find(1)->rec.next_seq == 11);
  CHECK(c.find(1)->last_seq == 10);
  CHECK_FALSE(c.find(1)->dirty);
  CHECK(c.find(7) == nullptr);
  REQUIRE(c.find(2) != nullptr);
  CHECK(c.find(2)->rec.retained.events == 5);
  CHECK(c.dirty().empty());
  CHECK(by_activity(c) == std::vector<std::uint64_t>{2, 1});
}

TEST_CASE("lmdb::StreamCache: a committed transaction stays and re-orders activity") {
  StreamCache c;
  c.load(entry(1, 10, 100));
  c.load(entry(2, 5, 50));
  c.begin();
  StreamCache::Entry& two = c.touch(2);
  two.rec.last_active_ms = 500;  // now the most recently active
  c.mark_dirty(two);
  bool created = false;
  StreamCache::Entry& three = c.touch_or_create(3, &created);
  three.rec.retained.events = 1;
  three.rec.last_active_ms = 300;
  StreamCache::Entry& again = c.touch_or_create(1, &created);
  CHECK_FALSE(created);
  again.rec.retained.events = 0;  // everything evicted: leaves the activity order
  c.commit();
  CHECK_FALSE(c.find(2)->dirty);
  CHECK(c.dirty().empty());
  CHECK(by_activity(c) == std::vector<std::uint64_t>{3, 2});
  CHECK(c.entries().size() == 3);

  // A later rollback goes back to this commit, not to the load.
  c.begin();
  c.erase(3);
  c.touch(2).rec.last_active_ms = 1;
  c.rollback();
  REQUIRE(c.find(3) != nullptr);
  CHECK(c.find(2)->rec.last_active_ms == 500);
  CHECK(by_activity(c) == std::vector<std::uint64_t>{3, 2});
}

TEST_SUITE_END();
