#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

#include "core/proxy/backoff.h"
#include "core/util/clock.h"

using namespace ssestitch;
using proxy::Backoff;

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::Backoff: the first resume at once, then full jitter under a ceiling that doubles up to the cap") {
  Backoff b(200, 30'000, 60'000, 42);
  CHECK(b.failures() == 0);
  // No failure yet (a drop after a healthy stream): within a few milliseconds.
  for (int i = 0; i < 50; ++i) {
    const std::int64_t d = b.next_delay_ms(std::nullopt, std::nullopt);
    CHECK(d >= 0);
    CHECK(d <= Backoff::k_first_jitter_ms);
  }
  std::int64_t ceiling = 100;
  for (unsigned n = 1; n <= 10; ++n) {
    b.failed(0);
    CHECK(b.failures() == n);
    ceiling = std::min<std::int64_t>(ceiling * 2, 30'000);  // 200, 400, ... after 1, 2, ... failures
    std::int64_t highest = 0;
    for (int i = 0; i < 200; ++i) {
      const std::int64_t d = b.next_delay_ms(std::nullopt, std::nullopt);
      CHECK(d >= 0);
      CHECK(d <= ceiling);
      highest = std::max(highest, d);
    }
    CHECK(highest > ceiling / 2);  // jitter spreads over the whole range, not just its bottom
  }
}

TEST_CASE("proxy::FirstResumeGate: one immediate first resume per millisecond; the rest keep the jitter") {
  proxy::FirstResumeGate gate;
  CHECK(gate.take(5'000'000));
  CHECK(!gate.take(5'000'001));   // a herd: the others of the same millisecond wait
  CHECK(!gate.take(5'999'999));
  CHECK(gate.take(6'000'000));
  CHECK(gate.take(0) == false);   // never earlier than the last slot plus 1 ms (clock steps back)

  Backoff b(200, 30'000, 60'000, 42);
  CHECK(b.next_delay_ms(std::nullopt, std::nullopt, true) == 0);
  CHECK(b.next_delay_ms(std::uint32_t{300}, std::nullopt, true) == 300);  // retry: still a floor
  b.failed(0);
  // After a failure the gate says nothing: full jitter under the ceiling.
  bool any_positive = false;
  for (int i = 0; i < 50; ++i) any_positive = any_positive || b.next_delay_ms(std::nullopt, std::nullopt, true) > 0;
  CHECK(any_positive);
}

TEST_CASE("proxy::Backoff: retry: and Retry-After are floors") {
  Backoff b(200, 30'000, 60'000, 7);
  for (int i = 0; i < 50; ++i) {
    CHECK(b.next_delay_ms(5'000u, std::nullopt) >= 5'000);
    CHECK(b.next_delay_ms(std::nullopt, 12'000) >= 12'000);
    CHECK(b.next_delay_ms(1'000u, 3'000) >= 3'000);
  }
  // A floor above the cap wins over the cap: the server asked for it.
  CHECK(b.next_delay_ms(std::nullopt, 90'000) == 90'000);
}

TEST_CASE("proxy::Backoff: progress ends the streak; the budget counts from its first failure") {
  util::ManualClock clock;
  Backoff b(200, 30'000, 10'000, 1);
  CHECK_FALSE(b.exhausted(clock.wall_ms()));
  b.failed(clock.wall_ms());
  clock.advance_ms(6'000);
  b.failed(clock.wall_ms());
  CHECK_FALSE(b.exhausted(clock.wall_ms()));
  clock.advance_ms(3'999);
  CHECK_FALSE(b.exhausted(clock.wall_ms()));
  clock.advance_ms(1);
  CHECK(b.exhausted(clock.wall_ms()));
  b.succeeded();
  CHECK(b.failures() == 0);
  CHECK_FALSE(b.exhausted(clock.wall_ms()));
  // A new streak starts its own budget.
  clock.advance_ms(60'000);
  b.failed(clock.wall_ms());
  CHECK_FALSE(b.exhausted(clock.wall_ms() + 9'999));
  CHECK(b.exhausted(clock.wall_ms() + 10'000));
}

TEST_CASE("proxy::Backoff: the same seed gives the same delays") {
  Backoff a(100, 5'000, 60'000, 99), b(100, 5'000, 60'000, 99);
  for (int i = 0; i < 8; ++i) {
    a.failed(0);
    b.failed(0);
    CHECK(a.next_delay_ms(std::nullopt, std::nullopt) == b.next_delay_ms(std::nullopt, std::nullopt));
  }
}

TEST_CASE("proxy::parse_retry_after_ms") {
  CHECK(proxy::parse_retry_after_ms("120") == 120'000);
  CHECK(proxy::parse_retry_after_ms(" 3 ") == 3'000);
  CHECK(proxy::parse_retry_after_ms("0") == 0);
  CHECK(proxy::parse_retry_after_ms("999999999") == 24 * 3600 * 1000);  // capped at a day
  CHECK_FALSE(proxy::parse_retry_after_ms(""));
  CHECK_FALSE(proxy::parse_retry_after_ms("-5"));
  CHECK_FALSE(proxy::parse_retry_after_ms("1.5"));
  CHECK_FALSE(proxy::parse_retry_after_ms("Wed, 21 Oct 2026 07:28:00 GMT"));  // dates: not honoured
}

TEST_SUITE_END();
