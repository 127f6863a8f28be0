#include <doctest/doctest.h>

#include <string>

#include "core/tracker/downstream_id.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("tracker");

TEST_CASE("tracker::parse_downstream_id") {
  SUBCASE("accepted") {
    CHECK(*tracker::parse_downstream_id("1-0") == tracker::DownstreamId{1, 0});
    CHECK(*tracker::parse_downstream_id("7-42") == tracker::DownstreamId{7, 42});
    CHECK(*tracker::parse_downstream_id("18446744073709551615-18446744073709551615") ==
          tracker::DownstreamId{18446744073709551615ull, 18446744073709551615ull});
  }
  SUBCASE("rejected, never guessed") {
    for (const char* bad : {"", "1", "1-", "-1", "0-1", "01-1", "1-01", "+1-2", "1-+2", " 1-2", "1-2 ", "1-2-3",
                            "1--2", "a-1", "1-a", "18446744073709551616-1", "1-18446744073709551616", "1_2", "1-2\n"}) {
      auto r = tracker::parse_downstream_id(bad);
      CHECK_MESSAGE(!r, bad);
      if (!r) CHECK(r.error().code == util::Errc::bad_event_id);
    }
  }
  SUBCASE("the message quotes a printable prefix") {
    CHECK(tracker::parse_downstream_id("abc").error().message == "invalid event id \"abc\": expected <stream>-<seq>");
    CHECK(tracker::parse_downstream_id(std::string("1\n2")).error().message ==
          "invalid event id \"1\\x0a2\": expected <stream>-<seq>");
    CHECK(tracker::parse_downstream_id(std::string(100, '9')).error().message.find("...\"") != std::string::npos);
  }
  SUBCASE("format round-trips") {
    CHECK(tracker::format_downstream_id({3, 17}) == "3-17");
    CHECK(*tracker::parse_downstream_id(tracker::format_downstream_id({12, 0})) == tracker::DownstreamId{12, 0});
  }
}

TEST_CASE("tracker::validate_event_id and validate_session_id") {
  CHECK(tracker::validate_event_id("abc_123-x"));
  CHECK(tracker::validate_event_id(""));
  CHECK(tracker::validate_event_id(std::string(1024, 'a')));
  CHECK(tracker::validate_event_id(std::string(1025, 'a')).error().message == "event id of 1025 bytes exceeds 1024");
  CHECK(tracker::validate_event_id("ab\ncd").error().message == "event id contains control byte 0x0a at offset 2");
  CHECK(tracker::validate_session_id("a1b2c3"));
  CHECK(tracker::validate_session_id("").error().message == "session id is empty");
  CHECK(tracker::validate_session_id("a b").error().message == "session id has byte 0x20 at offset 1 (visible ASCII only)");
  CHECK(tracker::validate_session_id("a\r\nX-Evil: 1").error().code == util::Errc::bad_session_id);
  // One bound with the store (store::k_max_session_id_bytes): an id the edge accepts is one the
  // store keeps.
  CHECK(tracker::validate_session_id(std::string(255, 'a')));
  CHECK(tracker::validate_session_id(std::string(256, 'a')).error().message == "session id of 256 bytes exceeds 255");
}

TEST_SUITE_END();
