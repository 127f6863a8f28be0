#include <doctest/doctest.h>

#include <string>

#include "core/proxy/idle_watch.h"
#include "core/proxy/keepalive.h"
#include "tests/unit/proxy_test_support.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::IdleWatch: dead after the timeout, never before 1.5x the longest healthy silence") {
  constexpr std::int64_t ms = 1'000'000;
  proxy::IdleWatch w(10'000);
  w.reset(0);
  CHECK(w.timeout_ns() == 10'000 * ms);
  CHECK(w.remaining_ms(0) == 10'001);
  CHECK(w.remaining_ms(9'999 * ms) == 2);
  CHECK(w.remaining_ms(10'000 * ms) == 0);
  CHECK(w.bytes_at(4'000 * ms) == 4'000 * ms);
  CHECK(w.silent_ns(5'000 * ms) == 1'000 * ms);
  // A server that is quiet for 30 s between keepalives: the timeout follows it (45 s).
  CHECK(w.bytes_at(34'000 * ms) == 30'000 * ms);
  CHECK(w.timeout_ns() == 45'000 * ms);
  CHECK(w.remaining_ms(34'000 * ms + 44'999 * ms) > 0);
  CHECK(w.remaining_ms(34'000 * ms + 45'000 * ms) == 0);
  // Our own pause does not count as the upstream's silence.
  w.reset(100'000 * ms);
  CHECK(w.silent_ns(100'000 * ms) == 0);
  CHECK(w.timeout_ns() == 45'000 * ms);  // what was learnt stays
}

TEST_CASE("proxy::Keepalive: a comment only after a whole quiet interval") {
  test::ProxyFixture f;
  f.config.keepalive_ms = 1;  // the timer fires often; the ManualClock decides
  std::string sent;
  proxy::Keepalive ka(f.ctx, [&](std::string_view bytes) { sent += bytes; });
  ka.start();
  // The clock does not move: however often the timer fires, the stream is not quiet.
  int turns = 0;
  f.run_until([&] { return ++turns > 30; });
  CHECK(sent.empty());
  CHECK(f.metrics.keepalives_sent == 0);

  // A whole interval (less the 10% slack) of quiet: exactly one comment, then quiet again.
  f.clock.advance_ms(1);
  CHECK(f.run_until([&] { return !sent.empty(); }));
  turns = 0;
  f.run_until([&] { return ++turns > 30; });
  CHECK(sent == ": keepalive\n\n");
  CHECK(f.metrics.keepalives_sent == 1);

  // The owner's writes count as activity.
  sent.clear();
  f.clock.advance_ms(1);
  ka.wrote();
  turns = 0;
  f.run_until([&] { return ++turns > 30; });
  CHECK(sent.empty());

  // Stopped: nothing more, however quiet.
  ka.stop();
  f.clock.advance_ms(5);
  turns = 0;
  f.run_until([&] { return ++turns > 30; });
  CHECK(sent.empty());
  CHECK(f.metrics.keepalives_sent == 1);
}

TEST_SUITE_END();
