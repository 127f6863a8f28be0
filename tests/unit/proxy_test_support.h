#pragma once
// Helpers shared by the proxy unit tests: a real event loop (one per test), the proxy's
// Config and Metrics, and a Context wired to them with a ManualClock.

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>

#include "core/net/event_loop.h"
#include "core/proxy/config.h"
#include "core/proxy/context.h"
#include "core/proxy/metrics.h"
#include "core/util/clock.h"
#include "tests/unit/loop_support.h"

namespace ssestitch::test {

struct ProxyFixture {
  ProxyFixture() {
    auto created = net::EventLoop::create();
    REQUIRE(created);
    loop = std::move(*created);
    ctx.config = &config;
    ctx.clock = &clock;
    ctx.loop = loop.get();
    ctx.metrics = &metrics;
  }

  // Runs the loop until `done()` holds or 10 s have passed (test::run_until).
  bool run_until(const std::function<bool()>& done) { return test::run_until(*loop, done); }

  proxy::Config config;
  proxy::Metrics metrics;
  util::ManualClock clock;
  std::unique_ptr<net::EventLoop> loop;
  proxy::Context ctx;
};

}  // namespace ssestitch::test
