// MemoryStore beyond the shared contract (store_contract_test.cc): inline callbacks and the
// store-wide payload bound.
#include <doctest/doctest.h>

#include <string>

#include "core/store/memory_store.h"
#include "tests/unit/store_test_support.h"

using namespace ssestitch;
using namespace ssestitch::store;
using namespace ssestitch::test;

TEST_SUITE_BEGIN("store");

TEST_CASE("store::MemoryStore::submit calls back inline") {
  MemoryStore s(keep_all());
  bool called = false;
  REQUIRE(s.submit(events_batch(1, 1, 2), [&](const util::Result<CommitInfo>& r) {
    CHECK(r);
    called = true;
  }));
  CHECK(called);
  CHECK(s.flush());
  CHECK(s.metrics().commits == 1);
  CHECK(s.metrics().events_written == 2);
  auto st = s.stats();
  REQUIRE(st);
  CHECK(st->format_version == 0);
  CHECK(st->file_bytes == 2 * (2 + 16));
  CHECK(st->map_bytes == 0);
}

TEST_CASE("store::MemoryStore store-wide bound") {
  Retention r = keep_all();
  r.store_max_bytes = 1000;
  MemoryStore s(r);
  // Streams of 5 events x 102 payload bytes. Over the bound, the least recently active streams
  // lose their oldest events until the store is down to 90% of it (900 bytes).
  REQUIRE(commit(s, events_batch(1, 1, 5, 100, 300)));
  REQUIRE(commit(s, events_batch(2, 1, 5, 100, 100)));
  CHECK(s.stats()->file_bytes == 8 * 102);
  CHECK(seqs(s, 2) == std::vector<std::uint64_t>{3, 4, 5});
  REQUIRE(commit(s, events_batch(3, 1, 5, 100, 200)));
  // Stream 2 (active at 100) goes first, then stream 3 (200); stream 1 (300) keeps everything.
  CHECK(s.stats()->file_bytes == 8 * 102);
  CHECK(seqs(s, 2).empty());
  CHECK(seqs(s, 3) == std::vector<std::uint64_t>{3, 4, 5});
  CHECK(seqs(s, 1).size() == 5);
  CHECK((*s.stream(2))->retained.evicted == 5);
  CHECK((*s.stream(2))->retained.first_seq == 0);
  CHECK(s.metrics().events_evicted == 7);
}

TEST_SUITE_END();
