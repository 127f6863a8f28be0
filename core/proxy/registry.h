#pragma once
// Registry: owns the live Streams and Exchanges of the proxy, finds streams by number, and
// frees finished objects later in the loop iteration (never inside their own callbacks).

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/net/event_loop.h"

namespace ssestitch::proxy {

class Stream;
class Exchange;

class Registry {
 public:
  explicit Registry(net::EventLoop& loop);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Stream* find(std::uint64_t stream) const;
  Stream& add(std::unique_ptr<Stream> stream);
  Exchange& add(std::unique_ptr<Exchange> exchange);
  // The exchange is done; it is destroyed later in this loop iteration.
  void release(Exchange* exchange);
  // Some stream may have become collectable: look later in this loop iteration.
  void collect_soon() { m_collect.fire(); }
  std::vector<Stream*> streams() const;
  std::vector<Exchange*> exchanges() const;
  // Destroys everything now (shutdown, after streams and exchanges were told to stop).
  void clear();

 private:
  void collect();

  std::unordered_map<std::uint64_t, std::unique_ptr<Stream>> m_streams;
  std::unordered_map<Exchange*, std::unique_ptr<Exchange>> m_exchanges;
  std::vector<Exchange*> m_released;
  net::Trigger m_collect;
};

}  // namespace ssestitch::proxy
