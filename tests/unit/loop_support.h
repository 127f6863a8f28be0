#pragma once
// Running a real event loop in a unit test, bounded.

#include <chrono>
#include <functional>
#include <memory>

#include "core/net/event_loop.h"

namespace ssestitch::test {

// Runs `loop` until `done()` holds (checked every millisecond) or, so that a broken test never
// hangs, 10 s have passed; returns done().
inline bool run_until(net::EventLoop& loop, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::unique_ptr<net::Timer> poll;
  poll = std::make_unique<net::Timer>(loop, [&] {
    if (done() || std::chrono::steady_clock::now() > deadline) {
      loop.stop();
    } else {
      poll->arm_ms(1);
    }
  });
  poll->arm_ms(0);
  loop.run();
  return done();
}

}  // namespace ssestitch::test
