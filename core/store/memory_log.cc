#include "core/store/memory_log.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace ssestitch::store {
namespace {

// An event in a block: seq u64, arrival_ms i64, then the sizes of upstream id, type and data
// (u32 each), then those bytes. Native byte order: blocks never leave the process.
struct Header {
  std::uint64_t seq;
  std::int64_t arrival_ms;
  std::uint32_t id_size;
  std::uint32_t type_size;
  std::uint32_t data_size;
};
constexpr std::size_t k_header_bytes = 8 + 8 + 4 + 4 + 4;

Header header_at(const char* p) noexcept {
  Header h;
  std::memcpy(&h.seq, p, 8);
  std::memcpy(&h.arrival_ms, p + 8, 8);
  std::memcpy(&h.id_size, p + 16, 4);
  std::memcpy(&h.type_size, p + 20, 4);
  std::memcpy(&h.data_size, p + 24, 4);
  return h;
}

void put_header(char* p, const Header& h) noexcept {
  std::memcpy(p, &h.seq, 8);
  std::memcpy(p + 8, &h.arrival_ms, 8);
  std::memcpy(p + 16, &h.id_size, 4);
  std::memcpy(p + 20, &h.type_size, 4);
  std::memcpy(p + 24, &h.data_size, 4);
}

std::uint32_t size32(const std::string& s) {
  if (s.size() > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("event field over 4 GiB");
  return static_cast<std::uint32_t>(s.size());
}

}  // namespace

std::size_t MemoryLog::size_at(const Block& b, std::size_t at) noexcept {
  const Header h = header_at(b.bytes.get() + at);
  return k_header_bytes + h.id_size + h.type_size + h.data_size;
}

EventView MemoryLog::view(const Block& b, std::size_t at) const noexcept {
  const char* p = b.bytes.get() + at;
  const Header h = header_at(p);
  p += k_header_bytes;
  EventView v;
  v.stream = m_stream;
  v.seq = h.seq;
  v.arrival_ms = h.arrival_ms;
  v.upstream_id = {p, h.id_size};
  v.type = {p + h.id_size, h.type_size};
  v.data = {p + h.id_size + h.type_size, h.data_size};
  return v;
}

void MemoryLog::append(const EventRecord& ev) {
  const Header h{ev.seq, ev.arrival_ms, size32(ev.upstream_id), size32(ev.type), size32(ev.data)};
  const std::size_t need = k_header_bytes + h.id_size + h.type_size + h.data_size;
  if (m_first == m_blocks.size() || m_blocks.back().capacity - m_blocks.back().used < need) {
    std::size_t capacity = k_first_block_bytes;
    if (!m_blocks.empty()) capacity = std::min(k_max_block_bytes, m_blocks.back().capacity * 2);
    capacity = std::max(capacity, need);
    Block b;
    b.bytes = std::make_unique_for_overwrite<char[]>(capacity);
    b.capacity = capacity;
    b.first_seq = ev.seq;
    m_allocated += capacity;
    if (m_first == m_blocks.size()) {  // every block was freed: start over
      m_blocks.clear();
      m_first = 0;
    }
    m_blocks.push_back(std::move(b));
  }
  Block& b = m_blocks.back();
  char* p = b.bytes.get() + b.used;
  put_header(p, h);
  p += k_header_bytes;
  std::memcpy(p, ev.upstream_id.data(), h.id_size);
  std::memcpy(p + h.id_size, ev.type.data(), h.type_size);
  std::memcpy(p + h.id_size + h.type_size, ev.data.data(), h.data_size);
  b.last = b.used;
  b.used += need;
  ++m_count;
}

void MemoryLog::pop_front() noexcept {
  Block& b = m_blocks[m_first];
  b.head += size_at(b, b.head);
  --m_count;
  if (b.head < b.used) {
    b.first_seq = header_at(b.bytes.get() + b.head).seq;
    return;
  }
  // The block's last event left. Its capacity stays on record (the next block's size doubles
  // from the newest block's), so only the memory goes.
  m_allocated -= b.capacity;
  b.bytes.reset();
  ++m_first;
  if (m_first == m_blocks.size()) return;
  if (m_first >= 16 && m_first * 2 >= m_blocks.size()) {  // amortized O(1) per freed block
    m_blocks.erase(m_blocks.begin(), m_blocks.begin() + static_cast<std::ptrdiff_t>(m_first));
    m_first = 0;
  }
}

EventView MemoryLog::front() const noexcept {
  const Block& b = m_blocks[m_first];
  return view(b, b.head);
}

EventView MemoryLog::back() const noexcept {
  const Block& b = m_blocks.back();
  return view(b, b.last);
}

void MemoryLog::visit_after(std::uint64_t after_seq, util::FunctionRef<bool(const EventView&)> visit) const {
  if (m_count == 0) return;
  // The first block holding an event beyond after_seq: the one before the first block that
  // starts beyond it (or that block itself when it is the oldest).
  auto begin = m_blocks.begin() + static_cast<std::ptrdiff_t>(m_first);
  auto it = std::upper_bound(begin, m_blocks.end(), after_seq,
                             [](std::uint64_t seq, const Block& b) { return seq < b.first_seq; });
  if (it != begin) --it;
  for (; it != m_blocks.end(); ++it) {
    for (std::size_t at = it->head; at < it->used; at += size_at(*it, at)) {
      const EventView v = view(*it, at);
      if (v.seq <= after_seq) continue;
      if (!visit(v)) return;
    }
  }
}

}  // namespace ssestitch::store
