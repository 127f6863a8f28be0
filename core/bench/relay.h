#pragma once
// CuttingRelay: a TCP relay on 127.0.0.1 (port chosen by the OS) in front of one target, which
// closes a connection once `cut_every` bytes of one SSE response went through it (mid-event,
// mid-chunk; counted per response, so plain JSON answers on the same connection, before or
// after, pass untouched: a client could not resume them, only a proxy send some again): the
// upstream drops `bench --upstream URL --through-proxy` injects under the proxy. One thread per
// direction per connection; connections are few and short in a smoke test.

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/util/result.h"

namespace ssestitch::bench {

class CuttingRelay {
 public:
  static util::Result<std::unique_ptr<CuttingRelay>> start(std::uint16_t target_port, std::uint64_t cut_every);
  ~CuttingRelay();  // stops accepting, closes every connection, joins the threads
  CuttingRelay(const CuttingRelay&) = delete;
  CuttingRelay& operator=(const CuttingRelay&) = delete;

  std::uint16_t port() const noexcept;
  std::uint64_t cuts() const noexcept;

  struct Impl;

 private:
  explicit CuttingRelay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ssestitch::bench
