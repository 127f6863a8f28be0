#include "core/tracker/dedup_window.h"

#include <functional>

namespace ssestitch::tracker {

namespace {

std::uint64_t hash_of(std::string_view id) { return std::hash<std::string_view>{}(id); }

}  // namespace

DedupWindow::DedupWindow(std::size_t capacity) : m_capacity(capacity) {}

std::size_t DedupWindow::find(std::string_view id, std::uint64_t hash) const {
  const std::size_t mask = m_index.size() - 1;
  for (std::size_t pos = hash & mask;; pos = (pos + 1) & mask) {
    const Entry& e = m_index[pos];
    if (e.slot == k_empty || (e.hash == hash && m_ids[e.slot].text == id)) return pos;
  }
}

void DedupWindow::place(std::uint64_t hash, std::uint32_t slot) {
  const std::size_t mask = m_index.size() - 1;
  std::size_t pos = hash & mask;
  while (m_index[pos].slot != k_empty) pos = (pos + 1) & mask;
  m_index[pos] = Entry{hash, slot};
}

void DedupWindow::remove_at(std::size_t pos) {
  // Backward-shift deletion: an entry later in the run moves into the hole unless its home
  // position lies cyclically after the hole (it would then be found before reaching it).
  const std::size_t mask = m_index.size() - 1;
  std::size_t hole = pos;
  for (std::size_t next = (hole + 1) & mask; m_index[next].slot != k_empty; next = (next + 1) & mask) {
    const std::size_t home = m_index[next].hash & mask;
    if (((next - home) & mask) >= ((next - hole) & mask)) {
      m_index[hole] = m_index[next];
      hole = next;
    }
  }
  m_index[hole] = Entry{};
}

void DedupWindow::grow_index() {
  std::vector<Entry> old = std::move(m_index);
  m_index.assign(old.empty() ? 16 : old.size() * 2, Entry{});
  for (const Entry& e : old) {
    if (e.slot != k_empty) place(e.hash, e.slot);
  }
}

bool DedupWindow::insert(std::string_view id) {
  if (m_capacity == 0) return true;
  const std::uint64_t hash = hash_of(id);
  if (!m_index.empty() && m_index[find(id, hash)].slot != k_empty) return false;
  add(id, hash);
  return true;
}

void DedupWindow::insert_fresh(std::string_view id) {
  if (m_capacity != 0) add(id, hash_of(id));
}

void DedupWindow::add(std::string_view id, std::uint64_t hash) {
  if (m_ids.size() < m_capacity) {
    if ((m_ids.size() + 1) * 2 > m_index.size()) grow_index();
    m_ids.push_back(Id{std::string(id), hash});
    place(hash, static_cast<std::uint32_t>(m_ids.size() - 1));
    return;
  }
  // Full: the new id takes the oldest one's ring slot. The oldest's index entry is the one in
  // its probe run that points at that slot.
  const std::uint32_t slot = static_cast<std::uint32_t>(m_oldest);
  const std::size_t mask = m_index.size() - 1;
  std::size_t pos = m_ids[slot].hash & mask;
  while (m_index[pos].slot != slot) pos = (pos + 1) & mask;
  remove_at(pos);
  m_ids[slot].text.assign(id);
  m_ids[slot].hash = hash;
  place(hash, slot);
  m_oldest = (m_oldest + 1) % m_capacity;
}

bool DedupWindow::contains(std::string_view id) const {
  return !m_index.empty() && m_index[find(id, hash_of(id))].slot != k_empty;
}

}  // namespace ssestitch::tracker
