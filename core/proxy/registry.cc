#include "core/proxy/registry.h"

#include "core/proxy/exchange.h"
#include "core/proxy/stream.h"

namespace ssestitch::proxy {

Registry::Registry(net::EventLoop& loop) : m_collect(loop, [this] { collect(); }) {}

Registry::~Registry() { clear(); }

Stream* Registry::find(std::uint64_t stream) const {
  auto it = m_streams.find(stream);
  return it == m_streams.end() ? nullptr : it->second.get();
}

Stream& Registry::add(std::unique_ptr<Stream> stream) {
  const std::uint64_t no = stream->number();
  return *(m_streams[no] = std::move(stream));
}

Exchange& Registry::add(std::unique_ptr<Exchange> exchange) {
  Exchange* raw = exchange.get();
  return *(m_exchanges[raw] = std::move(exchange));
}

void Registry::release(Exchange* exchange) {
  m_released.push_back(exchange);
  m_collect.fire();
}

std::vector<Stream*> Registry::streams() const {
  std::vector<Stream*> out;
  out.reserve(m_streams.size());
  for (const auto& [no, s] : m_streams) out.push_back(s.get());
  return out;
}

std::vector<Exchange*> Registry::exchanges() const {
  std::vector<Exchange*> out;
  out.reserve(m_exchanges.size());
  for (const auto& [p, e] : m_exchanges) out.push_back(e.get());
  return out;
}

void Registry::collect() {
  std::vector<Exchange*> released;
  released.swap(m_released);
  for (Exchange* e : released) m_exchanges.erase(e);
  std::erase_if(m_streams, [](const auto& entry) { return entry.second->collectable(); });
}

void Registry::clear() {
  m_released.clear();
  m_exchanges.clear();
  m_streams.clear();
}

}  // namespace ssestitch::proxy
