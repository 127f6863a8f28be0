#pragma once
// DedupWindow: the last N upstream event ids of one stream, for exact duplicate detection.
//
// A ring (std::deque of strings, so elements never move) plus a hash set of views into it:
// O(1) test-and-insert, O(1) eviction of the oldest id. Memory grows with the ids actually seen,
// up to the capacity, so idle streams cost almost nothing. When the window is full, inserting a
// new id forgets the oldest one: with capacity 1,000, the 1,001st-oldest id is no longer a
// duplicate.

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>

namespace ssestitch::tracker {

class DedupWindow {
 public:
  explicit DedupWindow(std::size_t capacity);
  DedupWindow(DedupWindow&&) noexcept = default;
  DedupWindow& operator=(DedupWindow&&) noexcept = default;
  DedupWindow(const DedupWindow&) = delete;
  DedupWindow& operator=(const DedupWindow&) = delete;

  // Returns true and remembers `id` if it was not in the window (evicting the oldest id when
  // full); returns false, changing nothing, if it was.
  bool insert(std::string_view id);
  bool contains(std::string_view id) const;
  std::size_t size() const noexcept { return m_ring.size(); }
  std::size_t capacity() const noexcept { return m_capacity; }

 private:
  std::size_t m_capacity;
  std::deque<std::string> m_ring;                 // oldest at front
  std::unordered_set<std::string_view> m_index;   // views into m_ring's strings
};

}  // namespace ssestitch::tracker
