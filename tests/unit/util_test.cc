#include <doctest/doctest.h>

#include <set>
#include <string>
#include <thread>

#include "core/util/clock.h"
#include "core/util/errc.h"
#include "core/util/function_ref.h"
#include "core/util/log.h"
#include "core/util/result.h"
#include "core/util/text.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("util");

TEST_CASE("util::Result") {
  SUBCASE("value") {
    util::Result<int> r = 7;
    REQUIRE(r);
    CHECK(*r == 7);
    CHECK(r.value_or(1) == 7);
  }
  SUBCASE("error") {
    util::Result<int> r = util::fail(util::Errc::not_found, "no stream 7");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::not_found);
    CHECK(r.error().message == "no stream 7");
    CHECK(r.value_or(1) == 1);
  }
  SUBCASE("void") {
    util::Result<void> ok = util::ok();
    CHECK(ok);
    util::Result<void> bad = util::fail(util::Errc::io_error, "open: ENOENT");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == util::Errc::io_error);
  }
  SUBCASE("converting construction") {
    util::Result<std::string> r = "abc";
    REQUIRE(r);
    CHECK(*r == "abc");
  }
}

TEST_CASE("util::to_string(Errc)") {
  CHECK(util::to_string(util::Errc::store_full) == "store_full");
  CHECK(util::to_string(util::Errc::sse_line_too_long) == "sse_line_too_long");
  CHECK(util::to_string(util::Errc::internal) == "internal");
}

TEST_CASE("util::parse_log_level") {
  CHECK(*util::parse_log_level("debug") == util::LogLevel::debug);
  CHECK(*util::parse_log_level("off") == util::LogLevel::off);
  auto bad = util::parse_log_level("loud");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "invalid log level \"loud\" (expected debug, info, warn, error or off)");
  CHECK(*util::parse_log_format("json") == util::LogFormat::json);
  CHECK_FALSE(util::parse_log_format("xml"));
}

TEST_CASE("util::json_escape_append") {
  std::string out;
  util::json_escape_append(out, std::string("a\"b\\c\nd\x01", 8));
  CHECK(out == "a\\\"b\\\\c\\nd\\u0001");
}

TEST_CASE("util::FunctionRef") {
  int calls = 0;
  auto add = [&](int x) { calls += x; return calls; };
  util::FunctionRef<int(int)> ref = add;
  CHECK(ref(2) == 2);
  CHECK(ref(3) == 5);
}

TEST_CASE("util::ManualClock") {
  util::ManualClock clock(1000);
  CHECK(clock.wall_ms() == 1000);
  clock.advance_ms(500);
  CHECK(clock.wall_ms() == 1500);
  CHECK(util::system_clock().wall_ms() > 1'600'000'000'000);
}

TEST_SUITE_END();

#include "core/util/units.h"

TEST_SUITE_BEGIN("util");

TEST_CASE("util::parse_duration_ms") {
  CHECK(*util::parse_duration_ms("250ms") == 250);
  CHECK(*util::parse_duration_ms("15s") == 15'000);
  CHECK(*util::parse_duration_ms("15") == 15'000);
  CHECK(*util::parse_duration_ms("5m") == 300'000);
  CHECK(*util::parse_duration_ms("2H") == 7'200'000);
  CHECK(*util::parse_duration_ms("1d") == 86'400'000);
  CHECK(*util::parse_duration_ms("0") == 0);
  CHECK(util::parse_duration_ms("-1").error().message == "invalid duration \"-1\": expected a number");
  CHECK(util::parse_duration_ms("5 m").error().message ==
        "invalid duration \"5 m\": unknown unit \" m\" (use ms, s, m, h or d)");
  CHECK(util::parse_duration_ms("").error().message == "invalid duration \"\": empty");
  CHECK(util::parse_duration_ms("99999999999999999999d").error().message ==
        "invalid duration \"99999999999999999999d\": too large");
  CHECK(util::parse_duration_ms("9999999999999999d").error().message ==
        "invalid duration \"9999999999999999d\": too large");
}

TEST_CASE("util::parse_size") {
  CHECK(*util::parse_size("0") == 0);
  CHECK(*util::parse_size("512") == 512);
  CHECK(*util::parse_size("512B") == 512);
  CHECK(*util::parse_size("1k") == 1024);
  CHECK(*util::parse_size("1KiB") == 1024);
  CHECK(*util::parse_size("1MB") == 1u << 20);
  CHECK(*util::parse_size("64M") == 64u << 20);
  CHECK(*util::parse_size("1GiB") == 1ull << 30);
  CHECK(*util::parse_size("2T") == 2ull << 40);
  CHECK(util::parse_size("1.5M").error().message == "invalid size \"1.5M\": unknown unit \".5m\" (use B, KiB, MiB, GiB or TiB)");
  CHECK(util::parse_size("M").error().message == "invalid size \"M\": expected a number");
  CHECK(util::parse_size("99999999999T").error().message == "invalid size \"99999999999T\": too large");
}

TEST_CASE("util::format_duration_ms and util::format_size") {
  CHECK(util::format_duration_ms(250) == "250ms");
  CHECK(util::format_duration_ms(15'000) == "15s");
  CHECK(util::format_duration_ms(300'000) == "5m");
  CHECK(util::format_duration_ms(0) == "0ms");
  CHECK(util::format_duration_ms(1500) == "1500ms");
  CHECK(util::format_size(1u << 20) == "1MiB");
  CHECK(util::format_size(1536) == "1536B");
  CHECK(util::format_size(0) == "0B");
  CHECK(util::format_size(3ull << 30) == "3GiB");
}

TEST_SUITE_END();

#include "core/util/random.h"
#include "core/util/sha256.h"

TEST_SUITE_BEGIN("util");

TEST_CASE("util::sha256_hex") {
  // FIPS 180-4 / NIST example vectors.
  CHECK(util::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(util::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(util::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(util::sha256_hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // 55 and 56 bytes straddle the one-block / two-block padding boundary.
  CHECK(util::sha256_hex(std::string(55, 'x')).size() == 64);
  CHECK(util::sha256_hex(std::string(56, 'x')) != util::sha256_hex(std::string(55, 'x')));
}

TEST_CASE("util::random_hex") {
  const std::string a = util::random_hex(16);
  const std::string b = util::random_hex(16);
  CHECK(a.size() == 32);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("util::random_seed differs from call to call and from thread to thread") {
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(util::random_seed());
  std::uint64_t other = 0;
  std::thread t([&] { other = util::random_seed(); });
  t.join();
  seen.insert(other);
  CHECK(seen.size() == 1001);
}

TEST_SUITE_END();
