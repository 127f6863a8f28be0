// The SessionStore contract (session_store.h), run against LmdbStore, RedisStore and MemoryStore
// alike.
// Behaviour only one implementation has (files, locks, map growth, inline callbacks) is tested
// in store_lmdb_store_test.cc and store_memory_store_test.cc.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/store_test_support.h"

using namespace ssestitch;
using namespace ssestitch::store;
using namespace ssestitch::test;

TEST_SUITE_BEGIN("store");

TEST_CASE("store::SessionStore round trip") {
  for_each_store([](StoreFixture& f) {
    util::ManualClock clock;
    auto s = f.open(keep_all(), &clock);
    Batch b;
    SessionRecord s2{"s2", "up-2", "2025-06-18", "p2", 10, 20, SessionState::closed};
    SessionRecord s1{"s1", "up-1", "2025-11-25", "", 30, 40, SessionState::open};
    b.sessions = {s2, s1};
    StreamRecord st;
    st.stream = 7;
    st.session = "s1";
    st.principal = "p1";
    st.kind = StreamKind::post;
    st.target = "/mcp";
    st.upstream_last_id = "u2";
    st.has_upstream_id = true;
    st.retry_ms = 1500;
    st.next_seq = 3;
    st.state = StreamState::completed;
    st.created_ms = 100;
    st.last_active_ms = 5000;
    st.pending_request_ids = {"1", "\"two\""};
    st.retained = Retained{99, 99, 99, 99};  // ignored: the store keeps its own
    b.streams.push_back(st);
    b.events.push_back(EventRecord{7, 1, "u1", "", "hello", 4000});
    b.events.push_back(EventRecord{7, 2, "u2", "progress", std::string("a\nb\0c", 5), 4001});
    REQUIRE(commit(*s, std::move(b)));

    auto rounds = f.persistent() ? 2 : 1;
    for (int round = 0; round < rounds; ++round) {
      if (round == 1) {
        s.reset();
        s = f.open(keep_all(), &clock);
      }
      auto got1 = s->session("s1");
      REQUIRE(got1);
      REQUIRE(got1->has_value());
      CHECK((*got1)->upstream_id == "up-1");
      CHECK((*got1)->protocol_version == "2025-11-25");
      CHECK((*got1)->principal == "");
      CHECK((*got1)->created_ms == 30);
      CHECK((*got1)->last_active_ms == 40);
      CHECK((*got1)->state == SessionState::open);
      auto all = s->sessions();
      REQUIRE(all);
      REQUIRE(all->size() == 2);
      CHECK((*all)[0].id == "s1");  // ordered by id
      CHECK((*all)[1].id == "s2");
      CHECK((*all)[1].state == SessionState::closed);
      CHECK((*all)[1].principal == "p2");
      auto missing = s->session("nope");
      REQUIRE(missing);
      CHECK_FALSE(missing->has_value());
      CHECK_FALSE(s->session("")->has_value());

      auto rec = s->stream(7);
      REQUIRE(rec);
      REQUIRE(rec->has_value());
      const StreamRecord& r = **rec;
      CHECK(r.stream == 7);
      CHECK(r.session == "s1");
      CHECK(r.principal == "p1");
      CHECK(r.kind == StreamKind::post);
      CHECK(r.target == "/mcp");
      CHECK(r.upstream_last_id == "u2");
      CHECK(r.has_upstream_id);
      CHECK(r.retry_ms == 1500);
      CHECK(r.next_seq == 3);
      CHECK(r.state == StreamState::completed);
      CHECK(r.created_ms == 100);
      CHECK(r.last_active_ms == 5000);
      CHECK(r.pending_request_ids == std::vector<std::string>{"1", "\"two\""});
      CHECK(r.retained.first_seq == 1);
      CHECK(r.retained.events == 2);
      CHECK(r.retained.bytes == 2 + 5 + 2 + 8 + 5);
      CHECK(r.retained.evicted == 0);
      CHECK_FALSE(s->stream(8)->has_value());

      auto evs = s->events(7, 0, 10);
      REQUIRE(evs);
      REQUIRE(evs->size() == 2);
      CHECK((*evs)[0].stream == 7);
      CHECK((*evs)[0].seq == 1);
      CHECK((*evs)[0].upstream_id == "u1");
      CHECK((*evs)[0].type == "");
      CHECK((*evs)[0].data == "hello");
      CHECK((*evs)[0].arrival_ms == 4000);
      CHECK((*evs)[1].type == "progress");
      CHECK((*evs)[1].data == std::string("a\nb\0c", 5));
      CHECK((*evs)[1].arrival_ms == 4001);

      auto by_session = s->streams("s1");
      REQUIRE(by_session);
      REQUIRE(by_session->size() == 1);
      CHECK((*by_session)[0].stream == 7);
      CHECK(s->streams("s2")->empty());
      CHECK(s->streams(std::nullopt)->size() == 1);
    }
  });
}

TEST_CASE("store::SessionStore::streams") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    Batch b;
    b.streams = {stream_record(5, 1, "b"), stream_record(2, 1, "a"), stream_record(9, 1, "b"),
                 stream_record(3, 1, "")};
    REQUIRE(commit(*s, std::move(b)));
    auto all = s->streams(std::nullopt);
    REQUIRE(all);
    REQUIRE(all->size() == 4);
    CHECK((*all)[0].stream == 2);
    CHECK((*all)[3].stream == 9);
    auto in_b = s->streams("b");
    REQUIRE(in_b);
    REQUIRE(in_b->size() == 2);
    CHECK((*in_b)[0].stream == 5);
    CHECK((*in_b)[1].stream == 9);
    CHECK(s->streams("")->empty());
    CHECK(s->streams("c")->empty());

    SUBCASE("moving a stream to another session updates the index") {
      Batch m;
      m.streams = {stream_record(5, 1, "a")};
      REQUIRE(commit(*s, std::move(m)));
      CHECK(s->streams("b")->size() == 1);
      CHECK(s->streams("a")->size() == 2);
    }
  });
}

TEST_CASE("store::SessionStore::scan_events") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    REQUIRE(commit(*s, events_batch(1, 1, 20, 10)));
    REQUIRE(commit(*s, events_batch(2, 1, 5, 10)));
    REQUIRE(commit(*s, events_batch(3, 1, 1, 10)));
    auto collect = [&](std::uint64_t stream, std::uint64_t after, std::size_t limit, std::size_t max_bytes,
                       std::size_t stop_after = SIZE_MAX) {
      std::vector<std::uint64_t> out;
      auto n = s->scan_events(stream, after, limit, max_bytes, [&](const EventView& v) {
        CHECK(v.stream == stream);
        CHECK(v.upstream_id == upstream_id(v.seq));
        out.push_back(v.seq);
        return out.size() < stop_after;
      });
      REQUIRE(n);
      CHECK(*n == out.size());
      return out;
    };
    CHECK(collect(1, 0, 100, SIZE_MAX).size() == 20);
    CHECK(collect(1, 15, 100, SIZE_MAX) == std::vector<std::uint64_t>{16, 17, 18, 19, 20});
    CHECK(collect(1, 15, 2, SIZE_MAX) == std::vector<std::uint64_t>{16, 17});
    CHECK(collect(1, 20, 100, SIZE_MAX).empty());
    CHECK(collect(2, 0, 100, SIZE_MAX) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});  // stops at its stream
    CHECK(collect(3, 0, 100, SIZE_MAX) == std::vector<std::uint64_t>{1});
    CHECK(collect(4, 0, 100, SIZE_MAX).empty());
    CHECK(collect(1, UINT64_MAX, 100, SIZE_MAX).empty());
    CHECK(collect(1, 0, 0, SIZE_MAX).empty());
    CHECK(collect(1, 0, 100, 25) == std::vector<std::uint64_t>{1, 2, 3});  // 30 >= 25 bytes visited
    CHECK(collect(1, 0, 100, 1) == std::vector<std::uint64_t>{1});         // at least one
    CHECK(collect(1, 0, 100, SIZE_MAX, 4) == std::vector<std::uint64_t>{1, 2, 3, 4});
    auto evs = s->events(1, 18, 100);
    REQUIRE(evs);
    CHECK(evs->size() == 2);
  });
}

TEST_CASE("store::SessionStore::submit refuses invalid batches") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    auto refuse = [&](Batch b) {
      bool called = false;
      auto r = s->submit(std::move(b), [&](const util::Result<CommitInfo>&) { called = true; });
      REQUIRE_FALSE(r);
      CHECK(r.error().code == util::Errc::invalid_argument);
      CHECK_FALSE(called);
      return r.error().message;
    };
    Batch b;
    b.events = {event(1, 2), event(1, 2)};
    CHECK(refuse(b) == "event 1-2: seq not increasing within the batch (after 2)");
    b.events = {event(1, 3), event(2, 1), event(1, 1)};
    CHECK(refuse(b) == "event 1-1: seq not increasing within the batch (after 3)");
    b.events = {event(1, 0)};
    CHECK(refuse(b) == "event 1-0: stream and seq must be >= 1");
    b.events = {event(0, 1)};
    CHECK(refuse(b) == "event 0-1: stream and seq must be >= 1");
    b.events.clear();
    b.streams = {stream_record(0, 1)};
    CHECK(refuse(b) == "stream record with stream number 0");
    b.streams = {stream_record(1, 1, std::string("a\0b", 3))};
    CHECK(refuse(b) == "stream 1: session id longer than 255 bytes or containing NUL");
    b.streams.clear();
    b.sessions = {SessionRecord{}};
    CHECK(refuse(b) == "session record with an empty id, an id longer than 255 bytes or one containing NUL");
    b.sessions[0].id = std::string(256, 'x');
    refuse(b);
    CHECK(s->stats()->events == 0);
  });
}

TEST_CASE("store::SessionStore::submit callbacks run in submission order") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    std::mutex m;
    std::vector<int> order;
    constexpr int k_batches = 500;
    for (int i = 0; i < k_batches; ++i) {
      Batch b;
      b.events.push_back(event(1 + static_cast<std::uint64_t>(i % 3), static_cast<std::uint64_t>(i / 3 + 1)));
      auto r = s->submit(std::move(b), [&, i](const util::Result<CommitInfo>& res) {
        CHECK(res);
        CHECK(res->commit_ns >= 0);
        std::lock_guard lk(m);
        order.push_back(i);
      });
      REQUIRE(r);
    }
    REQUIRE(s->flush());
    std::lock_guard lk(m);
    REQUIRE(order.size() == k_batches);
    for (int i = 0; i < k_batches; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
    CHECK(s->metrics().events_written == k_batches);
    CHECK(s->stats()->events == k_batches);
  });
}

TEST_CASE("store::SessionStore writes only move forward") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    REQUIRE(commit(*s, events_batch(1, 1, 5)));

    SUBCASE("a stale event is skipped, the rest of the batch commits") {
      Batch b;
      b.events = {EventRecord{1, 5, "other", "", "overwrite?", 1}, event(1, 6)};
      REQUIRE(commit(*s, std::move(b)));
      auto evs = s->events(1, 4, 10);
      REQUIRE(evs);
      REQUIRE(evs->size() == 2);
      CHECK((*evs)[0].upstream_id == "u5");  // not overwritten
      CHECK((*evs)[1].seq == 6);
      CHECK((*s->stream(1))->next_seq == 7);  // raised past the new event
      CHECK((*s->stream(1))->retained.events == 6);
    }
    SUBCASE("an older seq than the newest is skipped") {
      Batch b;
      b.events = {event(1, 3)};
      REQUIRE(commit(*s, std::move(b)));
      CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
    }
    SUBCASE("a stream record with a lower next_seq is skipped") {
      StreamRecord back = stream_record(1, 3);
      back.target = "/changed";
      Batch b;
      b.streams = {back};
      REQUIRE(commit(*s, std::move(b)));
      auto rec = s->stream(1);
      CHECK((*rec)->next_seq == 6);
      CHECK((*rec)->upstream_last_id == "u5");
      CHECK((*rec)->target == "");
    }
    SUBCASE("an equal next_seq updates the other fields") {
      StreamRecord same = stream_record(1, 6);
      same.state = StreamState::completed;
      Batch b;
      b.streams = {same};
      REQUIRE(commit(*s, std::move(b)));
      CHECK((*s->stream(1))->state == StreamState::completed);
      CHECK((*s->stream(1))->retained.events == 5);
    }
  });
}

TEST_CASE("store::SessionStore events without a stream record") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    Batch b;
    b.events = {event(4, 1, "x", 777), event(4, 2, "y", 778)};
    REQUIRE(commit(*s, std::move(b)));
    const StreamRecord rec = stored_stream(*s, 4);
    CHECK(rec.kind == StreamKind::generic);
    CHECK(rec.next_seq == 3);
    CHECK(rec.created_ms == 777);
    CHECK(rec.last_active_ms == 778);
    CHECK(rec.retained.events == 2);
    CHECK(s->allocate_stream_number() >= 5);
  });
}

TEST_CASE("store::SessionStore events advance their stream's record") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    Batch b;
    b.streams = {stream_record(6, 1, "sess")};
    REQUIRE(commit(*s, std::move(b)));
    // Events alone, no record: the record's next_seq, cursor and activity follow them.
    Batch e;
    e.events = {event(6, 1, "a", 2000), event(6, 2, "b", 2001)};
    REQUIRE(commit(*s, std::move(e)));
    StreamRecord rec = stored_stream(*s, 6);
    CHECK(rec.next_seq == 3);
    CHECK(rec.has_upstream_id);
    CHECK(rec.upstream_last_id == "u2");
    CHECK(rec.last_active_ms == 2001);
    CHECK(rec.session == "sess");
    // An event without an upstream id leaves the cursor where it was.
    Batch n;
    n.events = {event(6, 3, "c", 2002)};
    n.events.back().upstream_id.clear();
    REQUIRE(commit(*s, std::move(n)));
    rec = stored_stream(*s, 6);
    CHECK(rec.next_seq == 4);
    CHECK(rec.upstream_last_id == "u2");
    // A record in the same batch is applied after the events: it can reset the cursor.
    Batch r;
    r.events = {event(6, 4, "d", 2003)};
    r.streams = {stream_record(6, 5, "sess", 2003)};
    r.streams.back().has_upstream_id = false;
    r.streams.back().upstream_last_id.clear();
    REQUIRE(commit(*s, std::move(r)));
    rec = stored_stream(*s, 6);
    CHECK(rec.next_seq == 5);
    CHECK_FALSE(rec.has_upstream_id);
    CHECK(rec.upstream_last_id.empty());
  });
}

TEST_CASE("store::SessionStore retention by count") {
  for_each_store([](StoreFixture& f) {
    Retention r = keep_all();
    r.max_events_per_stream = 5;
    auto s = f.open(r, nullptr);
    REQUIRE(commit(*s, events_batch(1, 1, 8)));
    CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{4, 5, 6, 7, 8});
    REQUIRE(commit(*s, events_batch(1, 9, 9)));
    CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{5, 6, 7, 8, 9});
    auto rec = s->stream(1);
    CHECK((*rec)->retained.first_seq == 5);
    CHECK((*rec)->retained.events == 5);
    CHECK((*rec)->retained.evicted == 4);
    CHECK((*rec)->retained.bytes == 5 * (2 + 16));
    CHECK(s->metrics().events_evicted == 4);
    SUBCASE("stale writes stay refused after eviction") {
      Batch b;
      b.events = {event(1, 2)};
      REQUIRE(commit(*s, std::move(b)));
      CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{5, 6, 7, 8, 9});
    }
  });
}

// RedisStore keeps each commit's events in entries of their own and reads the oldest four
// entries at a time when it evicts: evictions that ended with the fourth entry read failed the
// commit (a script error; found by peer-bench thr1 on 2026-12-07).
TEST_CASE("store::SessionStore retention by count: evictions that end where older commits end") {
  for_each_store([](StoreFixture& f) {
    Retention r = keep_all();
    r.max_events_per_stream = 4;
    auto s = f.open(r, nullptr);
    for (std::uint64_t seq = 1; seq <= 4; ++seq) REQUIRE(commit(*s, events_batch(1, seq, seq)));
    REQUIRE(commit(*s, events_batch(1, 5, 8)));
    CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{5, 6, 7, 8});
    auto rec = s->stream(1);
    CHECK((*rec)->retained.first_seq == 5);
    CHECK((*rec)->retained.events == 4);
    CHECK((*rec)->retained.evicted == 4);
    REQUIRE(commit(*s, events_batch(1, 9, 9)));
    CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{6, 7, 8, 9});
  });
}

TEST_CASE("store::SessionStore retention by bytes") {
  for_each_store([](StoreFixture& f) {
    Retention r = keep_all();
    r.max_bytes_per_stream = 100;
    auto s = f.open(r, nullptr);
    REQUIRE(commit(*s, events_batch(1, 1, 10)));  // payloads 9 x 18 + 19 = 181
    CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{6, 7, 8, 9, 10});
    auto rec = s->stream(1);
    CHECK((*rec)->retained.bytes == 4 * 18 + 19);
    CHECK((*rec)->retained.evicted == 5);
    CHECK((*rec)->retained.first_seq == 6);
  });
}

TEST_CASE("store::SessionStore retention by age") {
  for_each_store([](StoreFixture& f) {
    util::ManualClock clock;
    const std::int64_t now = clock.wall_ms();
    Retention r = keep_all();
    r.max_age_ms = 1000;
    auto s = f.open(r, &clock);
    Batch b = events_batch(1, 1, 5, 16, now - 5000);
    Batch fresh = events_batch(1, 6, 10, 16, now);
    b.events.insert(b.events.end(), fresh.events.begin(), fresh.events.end());
    b.streams = fresh.streams;
    REQUIRE(commit(*s, std::move(b)));
    CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{6, 7, 8, 9, 10});  // trimmed as written

    // Later, with no new events for the stream, the periodic pass still expires them.
    REQUIRE(commit(*s, events_batch(2, 1, 1, 16, now)));
    clock.advance_ms(2000);
    Batch nudge;
    nudge.sessions.push_back(SessionRecord{"nudge", "", "", "", 0, 0, SessionState::open});
    REQUIRE(commit(*s, std::move(nudge)));
    CHECK(seqs(*s, 1).empty());
    CHECK(seqs(*s, 2).empty());
    auto rec = s->stream(1);
    REQUIRE(rec->has_value());
    CHECK((*rec)->retained.events == 0);
    CHECK((*rec)->retained.first_seq == 0);
    CHECK((*rec)->retained.bytes == 0);
    CHECK((*rec)->retained.evicted == 10);
    CHECK((*rec)->next_seq == 11);
    CHECK(s->stats()->events == 0);
    CHECK(s->stats()->oldest_event_ms == 0);
    SUBCASE("the stream continues after everything expired") {
      REQUIRE(commit(*s, events_batch(1, 11, 11, 16, clock.wall_ms())));
      CHECK(seqs(*s, 1) == std::vector<std::uint64_t>{11});
      CHECK((*s->stream(1))->retained.first_seq == 11);
    }
  });
}

TEST_CASE("store::SessionStore retention idle_ttl") {
  for_each_store([](StoreFixture& f) {
    util::ManualClock clock;
    const std::int64_t now = clock.wall_ms();
    Retention r = keep_all();
    r.idle_ttl_ms = 10'000;
    auto s = f.open(r, &clock);
    Batch b;
    b.sessions.push_back(SessionRecord{"closed", "", "", "", now, now, SessionState::closed});
    b.sessions.push_back(SessionRecord{"open", "", "", "", now, now - 100'000, SessionState::open});
    b.sessions.push_back(SessionRecord{"fresh", "", "", "", now, now + 5'000, SessionState::expired});
    REQUIRE(commit(*s, std::move(b)));
    REQUIRE(commit(*s, events_batch(1, 1, 3, 16, now, "closed")));   // open stream of a closed session
    REQUIRE(commit(*s, events_batch(2, 1, 3, 16, now)));             // finished below
    REQUIRE(commit(*s, events_batch(3, 1, 3, 16, now - 100'000)));   // idle but open: kept
    REQUIRE(commit(*s, events_batch(4, 1, 3, 16, now, "open")));
    Batch done;
    StreamRecord finished = stream_record(2, 4, "", now);
    finished.state = StreamState::completed;
    done.streams.push_back(finished);
    REQUIRE(commit(*s, std::move(done)));

    clock.advance_ms(10'001);
    Batch nudge;
    nudge.sessions.push_back(SessionRecord{"nudge", "", "", "", 0, clock.wall_ms(), SessionState::open});
    REQUIRE(commit(*s, std::move(nudge)));

    CHECK_FALSE(s->session("closed")->has_value());
    CHECK(s->session("open")->has_value());
    CHECK(s->session("fresh")->has_value());
    CHECK_FALSE(s->stream(1)->has_value());
    CHECK_FALSE(s->stream(2)->has_value());
    CHECK(s->stream(3)->has_value());
    CHECK(s->stream(4)->has_value());
    CHECK(s->streams("closed")->empty());
    CHECK(s->streams("open")->size() == 1);
    CHECK(seqs(*s, 1).empty());
    CHECK(seqs(*s, 2).empty());
    CHECK(seqs(*s, 3).size() == 3);
    auto st = s->stats();
    REQUIRE(st);
    CHECK(st->sessions == 3);
    CHECK(st->streams == 2);
    CHECK(st->events == 6);
    CHECK(s->metrics().events_evicted == 6);
  });
}

TEST_CASE("store::SessionStore::allocate_stream_number") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    const std::uint64_t a = s->allocate_stream_number();
    const std::uint64_t b = s->allocate_stream_number();
    CHECK(a >= 1);
    CHECK(b == a + 1);
    REQUIRE(commit(*s, events_batch(40, 1, 1)));
    CHECK(s->allocate_stream_number() == 41);
    std::vector<std::uint64_t> got(1000);
    std::thread t1([&] { for (int i = 0; i < 500; ++i) got[static_cast<std::size_t>(i)] = s->allocate_stream_number(); });
    std::thread t2([&] { for (int i = 500; i < 1000; ++i) got[static_cast<std::size_t>(i)] = s->allocate_stream_number(); });
    t1.join();
    t2.join();
    std::sort(got.begin(), got.end());
    CHECK(std::adjacent_find(got.begin(), got.end()) == got.end());
  });
}

TEST_CASE("store::SessionStore::stats") {
  for_each_store([](StoreFixture& f) {
    util::ManualClock clock;
    auto s = f.open(keep_all(), &clock);
    auto empty = s->stats();
    REQUIRE(empty);
    CHECK(empty->events == 0);
    CHECK(empty->oldest_event_ms == 0);
    CHECK(empty->newest_event_ms == 0);
    CHECK(empty->last_commit_ms == 0);
    REQUIRE(commit(*s, events_batch(1, 1, 3, 16, 500)));
    REQUIRE(commit(*s, events_batch(2, 1, 2, 16, 300)));
    REQUIRE(commit(*s, events_batch(2, 3, 3, 16, 900)));
    REQUIRE(commit(*s, events_batch(3, 1, 1, 16, 700)));
    Batch b;
    b.sessions.push_back(SessionRecord{"a", "", "", "", 0, 0, SessionState::open});
    REQUIRE(commit(*s, std::move(b)));
    auto st = s->stats();
    REQUIRE(st);
    CHECK(st->sessions == 1);
    CHECK(st->streams == 3);
    CHECK(st->events == 7);
    CHECK(st->oldest_event_ms == 300);
    CHECK(st->newest_event_ms == 900);
    CHECK(st->last_commit_ms == clock.wall_ms());
    CHECK(st->max_bytes == keep_all().store_max_bytes);
    f.check_stats(*st);
  });
}

TEST_CASE("store::SessionStore a reader never sees an event without its cursor") {
  for_each_store([](StoreFixture& f) {
    auto s = f.open(keep_all(), nullptr);
    std::atomic<bool> done{false};
    std::atomic<int> checks{0};
    std::atomic<int> failures{0};
    std::thread reader([&] {
      while (!done.load()) {
        // Cursor first: every event it covers must be there, the last one with its id.
        auto rec = s->stream(1);
        if (rec && rec->has_value()) {
          const StreamRecord& r = **rec;
          auto evs = s->events(1, 0, 1'000'000);
          if (!evs || evs->size() < r.next_seq - 1) {
            ++failures;
          } else {
            for (std::uint64_t q = 1; q < r.next_seq; ++q) {
              if ((*evs)[q - 1].seq != q) ++failures;
            }
            if (r.next_seq > 1 && (*evs)[r.next_seq - 2].upstream_id != r.upstream_last_id) ++failures;
          }
        }
        // Events first: the cursor read afterwards must cover all of them.
        auto evs = s->events(1, 0, 1'000'000);
        auto after = s->stream(1);
        if (evs && !evs->empty()) {
          if (!after || !after->has_value() || (*after)->next_seq <= evs->back().seq) ++failures;
        }
        ++checks;
      }
    });
    std::uint64_t seq = 1;
    for (int i = 0; i < 400; ++i) {
      const std::uint64_t n = 1 + static_cast<std::uint64_t>(i % 3);
      for (;;) {
        auto r = s->submit(events_batch(1, seq, seq + n - 1, 32), nullptr);
        if (r) break;
        REQUIRE(r.error().code == util::Errc::store_queue_full);
        REQUIRE(s->flush());
      }
      seq += n;
      if (i % 50 == 0) std::this_thread::yield();
    }
    REQUIRE(s->flush());
    while (checks.load() < 20) std::this_thread::yield();
    done = true;
    reader.join();
    CHECK(failures.load() == 0);
    CHECK(seqs(*s, 1).size() == seq - 1);
  });
}

TEST_CASE("store::SessionStore keeps a tape stream's kind (format version 2)") {
  for_each_store([](StoreFixture& f) {
    util::ManualClock clock;
    auto s = f.open(keep_all(), &clock);
    Batch b;
    b.sessions.push_back(SessionRecord{"s1", "up-1", "2025-11-25", "", 1, 1, SessionState::open});
    b.events.push_back(EventRecord{4, 1, "", "", R"({"time_ms":1,"direction":"client_to_server"})", 1});
    StreamRecord tape;
    tape.stream = 4;
    tape.session = "s1";
    tape.kind = StreamKind::tape;
    tape.next_seq = 2;
    b.streams.push_back(tape);
    REQUIRE(commit(*s, std::move(b)));
    for (int round = 0; round < (f.persistent() ? 2 : 1); ++round) {
      if (round == 1) {
        s.reset();
        s = f.open(keep_all(), &clock);
      }
      auto rec = s->stream(4);
      REQUIRE(rec);
      REQUIRE(rec->has_value());
      CHECK((*rec)->kind == StreamKind::tape);
      CHECK((*rec)->session == "s1");
      CHECK(s->streams(std::string_view("s1"))->size() == 1);
    }
  });
}

TEST_SUITE_END();
