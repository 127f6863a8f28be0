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

TEST_CASE("store::MemoryStore store-wide bound: a bounded eviction per commit below it") {
  Retention r = keep_all();
  r.store_max_bytes = 200'000;  // 100,000 events of 2 payload bytes
  MemoryStore s(r);
  auto events_batch = [](std::uint64_t stream, std::uint64_t first, std::uint64_t last, std::size_t,
                         std::int64_t arrival_ms) {
    Batch b;
    for (std::uint64_t q = first; q <= last; ++q) b.events.push_back(EventRecord{stream, q, "", "", "dd", arrival_ms});
    return b;
  };
  auto events = [&](std::uint64_t stream) { return (*s.stream(stream))->retained.events; };
  // 99,000 events (between 90 % and the bound): at most 4,096 leave per commit, down to 90 %.
  REQUIRE(commit(s, events_batch(1, 1, 99'000, 0, 100)));
  const std::uint64_t per_event = s.stats()->file_bytes / events(1);
  REQUIRE(per_event == 2);
  CHECK(events(1) == 99'000 - 4'096);
  REQUIRE(commit(s, events_batch(2, 1, 1, 0, 200)));
  CHECK(events(1) == 99'000 - 2 * 4'096);
  REQUIRE(commit(s, events_batch(2, 2, 2, 0, 200)));
  CHECK(s.stats()->file_bytes == 180'000);
  CHECK(events(2) == 2);
  // Past the bound, a commit evicts as much as it takes, oldest stream first.
  REQUIRE(commit(s, events_batch(3, 1, 30'000, 0, 300)));
  CHECK(s.stats()->file_bytes <= 200'000);
  CHECK(s.stats()->file_bytes >= 180'000);
  CHECK(events(3) == 30'000);
  CHECK(events(2) == 2);
  CHECK(s.metrics().events_evicted == 99'000 + 30'000 + 2 - s.stats()->file_bytes / 2);
}

TEST_SUITE_END();
