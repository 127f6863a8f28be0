#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/tracker/dedup_window.h"
#include "core/tracker/downstream_id.h"
#include "core/tracker/event_tracker.h"

using namespace ssestitch;
using tracker::Verdict;

TEST_SUITE_BEGIN("tracker");

TEST_CASE("tracker::EventTracker seed scenarios") {
  SUBCASE("reconnect with Last-Event-Id 2; upstream re-sends 2,3: 2 is a duplicate, 3 is next") {
    tracker::EventTracker t;
    t.add_stream(1, "s");
    CHECK(t.observe(1, "1").seq == 1);
    CHECK(t.observe(1, "2").seq == 2);
    REQUIRE(t.cursor(1)->last_upstream_id == "2");
    t.note_reconnect(1);
    CHECK(t.observe(1, "2").verdict == Verdict::duplicate);
    auto three = t.observe(1, "3");
    CHECK(three.verdict == Verdict::fresh);
    CHECK(three.seq == 3);
    CHECK_FALSE(three.gap);
  }
  SUBCASE("two connections of one session share one tracker: dedup per stream, never across streams") {
    tracker::EventTracker t;
    t.add_stream(1, "s");
    t.add_stream(2, "s");
    // The same upstream ids on two streams of one session are different events.
    for (int i = 1; i <= 5; ++i) {
      CHECK(t.observe(1, std::to_string(i)).verdict == Verdict::fresh);
      CHECK(t.observe(2, std::to_string(i)).verdict == Verdict::fresh);
    }
    // Two connections feeding the same stream (old one still draining, new one resumed):
    // an id seen on either is a duplicate on the other.
    CHECK(t.observe(1, "6").verdict == Verdict::fresh);   // connection A
    CHECK(t.observe(1, "6").verdict == Verdict::duplicate);  // connection B
    CHECK(t.observe(1, "7").verdict == Verdict::fresh);   // connection B
    CHECK(t.observe(1, "7").verdict == Verdict::duplicate);  // connection A
    CHECK(t.next_seq(1) == 8);
    CHECK(t.next_seq(2) == 6);
  }
  SUBCASE("a window of 1,000 over 10,000 events behaves exactly") {
    tracker::EventTracker t(1000);
    t.add_stream(1, "");
    for (int i = 1; i <= 10000; ++i) REQUIRE(t.observe(1, "id" + std::to_string(i)).verdict == Verdict::fresh);
    // The newest 1,000 (9,001..10,000) are remembered.
    CHECK(t.observe(1, "id10000").verdict == Verdict::duplicate);
    CHECK(t.observe(1, "id9001").verdict == Verdict::duplicate);
    // The 1,001st-oldest (9,000) is forgotten: fresh again (and it now evicts 9,001).
    CHECK(t.observe(1, "id9000").verdict == Verdict::fresh);
    CHECK(t.observe(1, "id9001").verdict == Verdict::fresh);
    CHECK(t.observe(1, "id9002").verdict == Verdict::fresh);
    CHECK(t.observe(1, "id10000").verdict == Verdict::duplicate);
    CHECK(t.next_seq(1) == 10004);
  }
}

TEST_CASE("tracker::EventTracker::observe") {
  tracker::EventTracker t;
  t.add_stream(1, "s");
  SUBCASE("events without ids are always fresh and leave the cursor") {
    t.observe(1, "a");
    CHECK(t.observe(1, std::nullopt).seq == 2);
    CHECK(t.observe(1, std::nullopt).seq == 3);
    CHECK(t.cursor(1)->last_upstream_id == "a");
  }
  SUBCASE("an empty id resets the cursor and is never a duplicate") {
    t.observe(1, "a");
    CHECK(t.observe(1, "").verdict == Verdict::fresh);
    CHECK_FALSE(t.cursor(1)->last_upstream_id);
    CHECK(t.observe(1, "").verdict == Verdict::fresh);
  }
  SUBCASE("duplicates change nothing") {
    t.observe(1, "a");
    t.observe(1, "b");
    auto dup = t.observe(1, "a");
    CHECK(dup.verdict == Verdict::duplicate);
    CHECK(dup.seq == 0);
    CHECK(t.cursor(1)->last_upstream_id == "b");
    CHECK(t.next_seq(1) == 3);
  }
  SUBCASE("retry is recorded") {
    t.note_retry(1, 2500);
    CHECK(t.cursor(1)->retry_ms == 2500u);
  }
  SUBCASE("id-only blocks move the cursor without a seq") {
    CHECK(t.observe_id_only(1, "p1") == Verdict::fresh);
    CHECK(t.cursor(1)->last_upstream_id == "p1");
    CHECK(t.next_seq(1) == 1);
    CHECK(t.observe_id_only(1, "p1") == Verdict::duplicate);
    CHECK(t.observe(1, "p1").verdict == Verdict::duplicate);
  }
}

TEST_CASE("tracker::EventTracker gap detection") {
  tracker::EventTracker t;
  t.add_stream(1, "");
  SUBCASE("a jump after a reconnect in a consecutive numeric run is a gap, reported once") {
    for (int i = 1; i <= 5; ++i) t.observe(1, std::to_string(i));
    t.note_reconnect(1);
    auto jump = t.observe(1, "9");
    CHECK(jump.gap == 3u);
    CHECK_FALSE(t.observe(1, "10").gap);
  }
  SUBCASE("no gap without a reconnect (and the run ends)") {
    t.observe(1, "1");
    CHECK_FALSE(t.observe(1, "5").gap);
    t.note_reconnect(1);
    CHECK_FALSE(t.observe(1, "9").gap);
  }
  SUBCASE("opaque ids never report gaps") {
    t.observe(1, "a1");
    t.note_reconnect(1);
    CHECK_FALSE(t.observe(1, "a9").gap);
  }
  SUBCASE("a resume that continues exactly reports nothing") {
    t.observe(1, "1");
    t.observe(1, "2");
    t.note_reconnect(1);
    CHECK_FALSE(t.observe(1, "3").gap);
  }
}

TEST_CASE("tracker::EventTracker dedups exactly while ids are a numeric run") {
  // Ids above the run's last number skip the window's lookup (DedupWindow::insert_fresh); the
  // verdicts must be those of an exact window of the last 1,000 ids all the same.
  tracker::EventTracker t;
  t.add_stream(1, "");
  for (int i = 1; i <= 2500; ++i) REQUIRE(t.observe(1, std::to_string(i)).verdict == Verdict::fresh);
  t.note_reconnect(1);
  for (int i = 1501; i <= 2500; ++i) CHECK(t.observe(1, std::to_string(i)).verdict == Verdict::duplicate);
  CHECK(t.observe(1, "2501").verdict == Verdict::fresh);
  CHECK(t.observe(1, "2501").verdict == Verdict::duplicate);
  // A different spelling of a number seen is a different id: fresh, and it ends the run.
  CHECK(t.observe(1, "02501").verdict == Verdict::fresh);
  CHECK(t.observe(1, "2502").verdict == Verdict::fresh);
  CHECK(t.observe(1, "2502").verdict == Verdict::duplicate);
  CHECK(t.observe(1, "1502").verdict == Verdict::fresh);  // evicted: 1,000 newer ids since
  CHECK(t.observe_id_only(1, "2600") == Verdict::fresh);
  CHECK(t.observe_id_only(1, "2600") == Verdict::duplicate);
  CHECK(t.observe(1, "2600").verdict == Verdict::duplicate);
}

TEST_CASE("tracker::EventTracker::restore_stream") {
  tracker::EventTracker t;
  std::vector<std::string> recent = {"8", "9", "10"};
  tracker::Cursor cursor;
  cursor.last_upstream_id = "10";
  cursor.retry_ms = 500;
  t.restore_stream(4, "s", 11, cursor, recent);
  CHECK(t.next_seq(4) == 11);
  CHECK(t.cursor(4)->last_upstream_id == "10");
  CHECK(t.cursor(4)->retry_ms == 500u);
  CHECK(t.observe(4, "9").verdict == Verdict::duplicate);
  t.note_reconnect(4);
  auto next = t.observe(4, "13");
  CHECK(next.seq == 11);
  CHECK(next.gap == 2u);
}

TEST_CASE("tracker::EventTracker sessions and check_resume") {
  tracker::EventTracker t;
  t.add_stream(1, "a");
  t.add_stream(2, "a");
  t.add_stream(3, "b");
  t.observe(1, "x");
  CHECK(t.session_of(3) == "b");
  auto a = t.streams_of("a");
  std::sort(a.begin(), a.end());
  CHECK(a == std::vector<tracker::StreamNo>{1, 2});
  tracker::ResolveError why{};
  CHECK(t.check_resume("a", {1, 0}));
  CHECK(t.check_resume("a", {1, 1}));
  CHECK_FALSE(t.check_resume("a", {1, 2}, &why));
  CHECK(why == tracker::ResolveError::seq_ahead);
  auto foreign = t.check_resume("a", {3, 0}, &why);
  CHECK(why == tracker::ResolveError::foreign_session);
  CHECK(foreign.error().message == "no event 3-0 in this session's streams");
  CHECK_FALSE(t.check_resume("a", {9, 0}, &why));
  CHECK(why == tracker::ResolveError::unknown_stream);
  t.remove_session("a");
  CHECK_FALSE(t.has_stream(1));
  CHECK(t.has_stream(3));
  CHECK(t.streams_of("a").empty());
}

TEST_CASE("tracker::DedupWindow") {
  tracker::DedupWindow w(3);
  CHECK(w.insert("a"));
  CHECK(w.insert("b"));
  CHECK_FALSE(w.insert("a"));
  CHECK(w.insert("c"));
  CHECK(w.insert("d"));  // evicts "a"
  CHECK_FALSE(w.contains("a"));
  CHECK(w.contains("b"));
  CHECK(w.size() == 3);
  tracker::DedupWindow none(0);
  CHECK(none.insert("a"));
  CHECK(none.insert("a"));
  // Long ids (no small-string storage) stay valid as the ring moves.
  tracker::DedupWindow big(2);
  const std::string l1(100, 'x'), l2(100, 'y'), l3(100, 'z');
  CHECK(big.insert(l1));
  CHECK(big.insert(l2));
  CHECK(big.insert(l3));
  CHECK_FALSE(big.contains(l1));
  CHECK(big.contains(l3));
}

TEST_CASE("tracker::DedupWindow agrees with a plain model of the last N ids") {
  // Few distinct ids, so that duplicates, evictions and long probe runs (the backward-shift
  // deletion) all happen often; long ids exercise strings outside small-string storage.
  for (std::size_t capacity : {1u, 2u, 7u, 64u, 1000u}) {
    CAPTURE(capacity);
    tracker::DedupWindow w(capacity);
    std::deque<std::string> ring;
    std::multiset<std::string> model;
    std::mt19937 rng(static_cast<unsigned>(capacity));
    std::uniform_int_distribution<int> pick(0, static_cast<int>(capacity) * 3);
    for (int i = 0; i < 20000; ++i) {
      std::string id = std::to_string(pick(rng));
      if (i % 5 == 0) id += std::string(40, 'L');
      const bool fresh = model.count(id) == 0;
      if (fresh && i % 2 == 0) {
        w.insert_fresh(id);  // the caller knows it is new
      } else {
        REQUIRE(w.insert(id) == fresh);
      }
      if (fresh) {
        if (ring.size() == capacity) {
          model.erase(model.find(ring.front()));
          ring.pop_front();
        }
        ring.push_back(id);
        model.insert(id);
      }
      REQUIRE(w.size() == ring.size());
      const std::string probe = std::to_string(pick(rng));
      REQUIRE(w.contains(probe) == (model.count(probe) != 0));
    }
    for (const std::string& id : ring) CHECK(w.contains(id));
  }
}

TEST_SUITE_END();
