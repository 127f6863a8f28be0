#include "core/store/lmdb_stream_cache.h"

namespace ssestitch::store::lmdb {

void StreamCache::load(Entry entry) {
  const std::uint64_t stream = entry.rec.stream;
  if (entry.rec.retained.events > 0) m_lru.emplace(entry.rec.last_active_ms, stream);
  m_streams.insert_or_assign(stream, std::move(entry));
}

const StreamCache::Entry* StreamCache::find(std::uint64_t stream) const {
  auto it = m_streams.find(stream);
  return it == m_streams.end() ? nullptr : &it->second;
}

StreamCache::Entry* StreamCache::find(std::uint64_t stream) {
  auto it = m_streams.find(stream);
  return it == m_streams.end() ? nullptr : &it->second;
}

StreamCache::Entry& StreamCache::touch(std::uint64_t stream) {
  auto it = m_streams.find(stream);
  if (!m_undo.contains(stream)) m_undo.emplace(stream, it->second);
  return it->second;
}

StreamCache::Entry& StreamCache::touch_or_create(std::uint64_t stream, bool* created) {
  *created = false;
  if (m_streams.contains(stream)) return touch(stream);
  if (!m_undo.contains(stream)) m_undo.emplace(stream, std::nullopt);
  *created = true;
  Entry& e = m_streams[stream];
  e.rec.stream = stream;
  return e;
}

void StreamCache::erase(std::uint64_t stream) {
  if (!m_streams.contains(stream)) return;
  touch(stream);
  m_streams.erase(stream);
}

void StreamCache::mark_dirty(Entry& entry) {
  if (entry.dirty) return;
  entry.dirty = true;
  m_dirty.push_back(entry.rec.stream);
}

void StreamCache::begin() noexcept {
  m_undo.clear();
  m_dirty.clear();
}

void StreamCache::rollback() noexcept {
  for (auto& [stream, original] : m_undo) {
    if (original) {
      m_streams[stream] = std::move(*original);
    } else {
      m_streams.erase(stream);
    }
  }
  m_undo.clear();
  m_dirty.clear();
}

void StreamCache::commit() {
  for (auto& [stream, original] : m_undo) {
    // The stream's activity entry is re-keyed in its node (extract, insert): no allocation.
    ActivityOrder::node_type node;
    if (original && original->rec.retained.events > 0) node = m_lru.extract({original->rec.last_active_ms, stream});
    auto it = m_streams.find(stream);
    if (it == m_streams.end()) continue;
    it->second.dirty = false;
    if (it->second.rec.retained.events == 0) continue;
    if (node) {
      node.value() = {it->second.rec.last_active_ms, stream};
      m_lru.insert(std::move(node));
    } else {
      m_lru.emplace(it->second.rec.last_active_ms, stream);
    }
  }
  m_undo.clear();
  m_dirty.clear();
}

}  // namespace ssestitch::store::lmdb
