#pragma once
// Proxy: wires the parts of `ssestitch proxy` together on one event loop and runs them.
//
// Start-up: the store is opened by the caller (so its errors map to exit code 3); sessions and
// open streams are recovered from it (tracker windows refilled from the newest events, upstream
// streams resumed from their cursors); then the client listener and the optional admin
// listener (/healthz, /readyz, /metrics) start.
// Shutdown (SIGTERM/SIGINT): stop accepting, end client streams cleanly (they may resume on a
// restarted proxy), drop upstream transfers, commit and sync the store, exit 0.
// Teardown order follows the deps notes: evhttp before the curl multi handle, the multi handle
// before the loop, the store's writer thread before the loop it posts to.

#include <memory>

#include "core/net/address.h"
#include "core/proxy/config.h"
#include "core/store/session_store.h"
#include "core/util/result.h"

namespace ssestitch::proxy {

class Proxy {
 public:
  // Builds everything and binds the listeners. Errors: io_error (cannot listen), store errors
  // from recovery.
  static util::Result<std::unique_ptr<Proxy>> create(const Config& config,
                                                     std::unique_ptr<store::SessionStore> store);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  const net::ListenAddress& address() const;
  // Runs until SIGTERM or SIGINT; returns the process exit code.
  int run();

  struct Impl;

 private:
  explicit Proxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ssestitch::proxy
