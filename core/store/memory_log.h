#pragma once
// MemoryLog: one stream's retained events in process memory, oldest first, for MemoryStore.
// Private to core/store.
//
// The problem: MemoryStore kept a std::deque<EventRecord> per stream: every event copied into
// three std::strings (a malloc for each past 15 bytes) and freed one by one when evicted, and at
// the store bound (--store-max) one commit evicted a tenth of the store at once.
// Measured 2026-12-07, /tmp/bound3.sh: `proxy --no-store --store-max 64MiB --retain-events 0`
// filled by a 400,000-event bulk stream, then a stream paced at 5,000/s beside one at 50,000/s
// (256-byte events), 3 interleaved runs, before -> after this file and the bounded eviction
// (memory_store.cc): paced p99 1,215-1,956 -> 362-616 us, p50 99-122 -> 84-91 us, proxy RSS 113
// -> 84 MB. Bulk at the bound (10 streams of 200,000 events, 128 MiB): proxy CPU 1.51-1.82 ->
// 1.56-1.58 us per event, RSS 214 -> 156 MB.
//
// The approach: events are packed back to back into blocks, each event a fixed header (seq,
// arrival, three sizes) followed by its upstream id, type and data. A stream's first block is
// small (k_first_block_bytes) and each next one twice the last, up to k_max_block_bytes, so an
// idle stream holds little and a busy one allocates once per ~250 events; an event larger than a
// block gets a block of its own size. Evicting the oldest event moves the head of the oldest
// block; a block is freed when its last event leaves. Views returned point into the blocks and
// stay valid until that event is evicted. Finding the first event after a seq: a binary search
// over the blocks' first seqs, then a walk through one block's headers.
//
// Considered, not built: one allocation per event with the strings inline (still a malloc
// and a free per event, the costly part of the eviction); a ring buffer per stream (a stream's
// retention limit is up to --retain-bytes, 64 MiB by default: a ring sized for it would be
// mostly empty, and resizing one copies everything).
//
// Not thread-safe (MemoryStore holds its mutex).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/store/records.h"
#include "core/util/function_ref.h"

namespace ssestitch::store {

class MemoryLog {
 public:
  static constexpr std::size_t k_first_block_bytes = 1024;
  static constexpr std::size_t k_max_block_bytes = 64 * 1024;

  explicit MemoryLog(std::uint64_t stream) noexcept : m_stream(stream) {}

  // Appends `ev`, whose seq must be beyond the newest event's (the caller checks).
  void append(const EventRecord& ev);
  // Removes the oldest event. Requires !empty().
  void pop_front() noexcept;

  bool empty() const noexcept { return m_count == 0; }
  std::size_t size() const noexcept { return m_count; }
  // The oldest and the newest event. Require !empty().
  EventView front() const noexcept;
  EventView back() const noexcept;
  // Calls `visit` with each event whose seq is beyond `after_seq`, oldest first, until it
  // returns false.
  void visit_after(std::uint64_t after_seq, util::FunctionRef<bool(const EventView&)> visit) const;
  // Bytes allocated for the blocks held.
  std::size_t allocated_bytes() const noexcept { return m_allocated; }

 private:
  struct Block {
    std::unique_ptr<char[]> bytes;
    std::size_t capacity = 0;
    std::size_t head = 0;        // offset of the oldest event left
    std::size_t used = 0;        // offset past the newest event
    std::size_t last = 0;        // offset of the newest event
    std::uint64_t first_seq = 0; // seq of the event at `head`
  };

  EventView view(const Block& b, std::size_t at) const noexcept;
  // Bytes of the event at `at` (header included).
  static std::size_t size_at(const Block& b, std::size_t at) noexcept;

  std::uint64_t m_stream;
  std::vector<Block> m_blocks;  // oldest first; blocks before m_first are freed
  std::size_t m_first = 0;
  std::size_t m_count = 0;
  std::size_t m_allocated = 0;
};

}  // namespace ssestitch::store
