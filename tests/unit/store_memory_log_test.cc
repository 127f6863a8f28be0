// MemoryLog (core/store/memory_log.h): events packed into blocks, read back whole and in order
// across block boundaries, from any seq, while the oldest leave.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/store/memory_log.h"

using namespace ssestitch;
using store::EventRecord;
using store::EventView;
using store::MemoryLog;

namespace {

// Event `seq` of stream 7; sizes vary with seq so events straddle block ends differently.
EventRecord event(std::uint64_t seq) {
  EventRecord e;
  e.stream = 7;
  e.seq = seq;
  e.upstream_id = seq % 3 == 0 ? "" : "u" + std::to_string(seq);
  e.type = seq % 5 == 0 ? "progress" : "";
  e.data = std::string(seq * 37 % 700, static_cast<char>('a' + seq % 26));
  e.arrival_ms = 1000 + static_cast<std::int64_t>(seq);
  return e;
}

void check_view(const EventView& v, std::uint64_t seq) {
  const EventRecord e = event(seq);
  CHECK(v.stream == 7);
  CHECK(v.seq == seq);
  CHECK(v.upstream_id == e.upstream_id);
  CHECK(v.type == e.type);
  CHECK(v.data == e.data);
  CHECK(v.arrival_ms == e.arrival_ms);
}

std::vector<std::uint64_t> seqs_after(const MemoryLog& log, std::uint64_t after) {
  std::vector<std::uint64_t> out;
  log.visit_after(after, [&](const EventView& v) {
    check_view(v, v.seq);
    out.push_back(v.seq);
    return true;
  });
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = from; s <= to; ++s) out.push_back(s);
  return out;
}

}  // namespace

TEST_SUITE_BEGIN("store");

TEST_CASE("store::MemoryLog keeps events whole and in order across blocks") {
  MemoryLog log(7);
  CHECK(log.empty());
  CHECK(seqs_after(log, 0).empty());
  for (std::uint64_t s = 1; s <= 600; ++s) log.append(event(s));
  CHECK(log.size() == 600);
  check_view(log.front(), 1);
  check_view(log.back(), 600);
  // ~200 KB of events: blocks grew from 1 KiB to 64 KiB.
  CHECK(log.allocated_bytes() > MemoryLog::k_max_block_bytes);
  for (std::uint64_t after : {0, 1, 2, 3, 99, 250, 598, 599, 600, 10'000}) {
    CAPTURE(after);
    CHECK(seqs_after(log, after) == range(after + 1, 600));
  }
}

TEST_CASE("store::MemoryLog visit_after stops when the visitor says so") {
  MemoryLog log(7);
  for (std::uint64_t s = 1; s <= 50; ++s) log.append(event(s));
  std::vector<std::uint64_t> seen;
  log.visit_after(10, [&](const EventView& v) {
    seen.push_back(v.seq);
    return seen.size() < 3;
  });
  CHECK(seen == std::vector<std::uint64_t>{11, 12, 13});
}

TEST_CASE("store::MemoryLog seqs with gaps (a stream whose writes were skipped)") {
  MemoryLog log(7);
  for (std::uint64_t s = 10; s <= 1000; s += 10) log.append(event(s));
  std::vector<std::uint64_t> want;
  for (std::uint64_t s = 510; s <= 1000; s += 10) want.push_back(s);
  CHECK(seqs_after(log, 505) == want);
  CHECK(seqs_after(log, 500) == want);
}

TEST_CASE("store::MemoryLog pop_front frees blocks as their last event leaves") {
  MemoryLog log(7);
  for (std::uint64_t s = 1; s <= 6000; ++s) log.append(event(s));
  const std::size_t full = log.allocated_bytes();
  for (std::uint64_t s = 1; s <= 5000; ++s) {
    check_view(log.front(), s);
    log.pop_front();
  }
  CHECK(log.size() == 1000);
  CHECK(log.allocated_bytes() < full);
  check_view(log.front(), 5001);
  CHECK(seqs_after(log, 0) == range(5001, 6000));
  CHECK(seqs_after(log, 5700) == range(5701, 6000));
  // Appends after evictions (the compaction of freed blocks happened along the way).
  for (std::uint64_t s = 6001; s <= 6600; ++s) log.append(event(s));
  CHECK(seqs_after(log, 5000) == range(5001, 6600));
  while (!log.empty()) log.pop_front();
  CHECK(log.allocated_bytes() == 0);
  CHECK(seqs_after(log, 0).empty());
  // Emptied, it starts over.
  log.append(event(3000));
  check_view(log.front(), 3000);
  check_view(log.back(), 3000);
  CHECK(seqs_after(log, 2999) == std::vector<std::uint64_t>{3000});
}

TEST_CASE("store::MemoryLog an event larger than a block gets a block of its own") {
  MemoryLog log(7);
  log.append(event(1));
  EventRecord big = event(2);
  big.data.assign(3 * MemoryLog::k_max_block_bytes, 'z');
  log.append(big);
  log.append(event(3));
  std::vector<std::size_t> sizes;
  log.visit_after(0, [&](const EventView& v) {
    sizes.push_back(v.data.size());
    return true;
  });
  CHECK(sizes == std::vector<std::size_t>{event(1).data.size(), big.data.size(), event(3).data.size()});
  log.pop_front();
  log.pop_front();
  check_view(log.front(), 3);
  CHECK(log.allocated_bytes() <= MemoryLog::k_max_block_bytes);  // the big block went
}

TEST_CASE("store::MemoryLog empty fields") {
  MemoryLog log(7);
  EventRecord e;
  e.stream = 7;
  e.seq = 1;
  log.append(e);
  const EventView v = log.front();
  CHECK(v.seq == 1);
  CHECK(v.upstream_id.empty());
  CHECK(v.type.empty());
  CHECK(v.data.empty());
}

TEST_SUITE_END();
