#pragma once
// LoopWatch: how a store does I/O on its caller's event loop without depending on it (core/store
// does not include core/net: DESIGN.md "Layout and who may include whom"). The proxy hands a
// store a factory of watches over its libevent loop (proxy/store_loop.h); a store that talks to
// a server (RedisStore) then commits from the loop thread with non-blocking sockets instead of
// waking its writer thread for every commit (redis_writer.h, "Commits on the loop").
//
// A watch is one-shot: arm() asks for one call of its callback, on the loop thread, when `fd` is
// ready for `events` or `timeout_ms` passed (what: readable / writable / timed_out bits);
// arming again replaces the previous request, disarm() cancels it. Destroying a watch disarms it.

#include <functional>
#include <memory>

namespace ssestitch::store {

class LoopWatch {
 public:
  enum : int { readable = 1, writable = 2, timed_out = 4 };
  virtual ~LoopWatch() = default;
  virtual void arm(int fd, int events, int timeout_ms) = 0;
  virtual void disarm() = 0;
};

// Makes a watch whose callback is `ready(what)`. Called on the loop thread.
using LoopWatchFactory = std::function<std::unique_ptr<LoopWatch>(std::function<void(int what)> ready)>;

}  // namespace ssestitch::store
