#include "core/tracker/dedup_window.h"

namespace ssestitch::tracker {

DedupWindow::DedupWindow(std::size_t capacity) : m_capacity(capacity) {}

bool DedupWindow::insert(std::string_view id) {
  if (m_capacity == 0) return true;
  if (m_index.count(id) != 0) return false;
  if (m_ring.size() == m_capacity) {
    // Erase the view before its string dies.
    m_index.erase(std::string_view(m_ring.front()));
    m_ring.pop_front();
  }
  m_ring.emplace_back(id);
  m_index.insert(std::string_view(m_ring.back()));
  return true;
}

bool DedupWindow::contains(std::string_view id) const { return m_index.count(id) != 0; }

}  // namespace ssestitch::tracker
