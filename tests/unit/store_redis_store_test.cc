// RedisStore beyond the shared contract (store_contract_test.cc), on a real redis-server
// (redis_server.h): URLs, what an open refuses, several writers on one prefix (fencing,
// claims), and recovery from a lost connection, a flushed script cache and a Redis restart.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "core/net/event_loop.h"
#include "core/store/redis_connection.h"
#include "core/store/redis_store.h"
#include "core/util/clock.h"
#include "tests/unit/loop_support.h"
#include "tests/unit/store_test_support.h"

using namespace ssestitch;
using namespace ssestitch::store;
using namespace ssestitch::test;

TEST_SUITE_BEGIN("store");

namespace {

RedisOptions options_for(const std::string& url) {
  auto a = redis::parse_url(url);
  REQUIRE_MESSAGE(a, (a ? "" : a.error().message));
  RedisOptions o;
  o.address = *a;
  o.sync = SyncMode::none;
  o.retention = keep_all();
  o.liveness_ms = 300;
  return o;
}

// A fresh prefix on the shared server, and a raw connection to poke at it.
struct Scratch {
  RedisFixture fixture;
  std::string url = RedisServer::shared().url(fixture.prefix());
  redis::Connection raw = open_raw(url);

  static redis::Connection open_raw(const std::string& url) {
    auto c = redis::Connection::open(options_for(url).address, 2000);
    REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
    return std::move(*c);
  }
  std::string key(const char* rest) const {
    std::string k = fixture.prefix();
    k.append(rest);
    return k;
  }
};

}  // namespace

TEST_CASE("store::redis::parse_url") {
  auto a = redis::parse_url("redis://127.0.0.1:6380/2?prefix=fleet");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 6380);
  CHECK(a->db == 2);
  CHECK(a->prefix == "fleet");
  CHECK(a->display() == "redis://127.0.0.1:6380/2?prefix=fleet");
  auto d = redis::parse_url("redis://cache.internal");
  REQUIRE(d);
  CHECK(d->port == 6379);
  CHECK(d->db == 0);
  CHECK(d->prefix == "ssestitch");
  auto v6 = redis::parse_url("redis://[::1]:7000");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->display() == "redis://[::1]:7000");
  auto u = redis::parse_url("unix:///run/redis/redis.sock?db=3&prefix=p");
  REQUIRE(u);
  CHECK(u->unix_path == "/run/redis/redis.sock");
  CHECK(u->db == 3);
  CHECK(u->prefix == "p");
  CHECK(redis::is_url("redis://x"));
  CHECK(redis::is_url("unix:///x"));
  CHECK_FALSE(redis::is_url("/var/lib/ssestitch"));
  for (const char* bad : {"redis://", "redis://:6379", "redis://h:0", "redis://h:65536", "redis://h:x", "redis://h/x",
                          "redis://user:pw@h", "redis://[::1", "redis://h?prefix=", "redis://h?prefix=a:b",
                          "redis://h?db=1", "redis://h?color=red", "unix://relative.sock", "http://h"}) {
    CAPTURE(bad);
    auto r = redis::parse_url(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::invalid_argument);
    CHECK(r.error().message.find(bad) == 0);
  }
}

TEST_CASE("store::redis::Connection is broken while replies are left unread") {
  Scratch s;
  redis::Connection& c = s.raw;
  CHECK_FALSE(c.broken());
  c.append({"SET", s.key(":a"), "1"});
  c.append({"GET", s.key(":a")});
  CHECK(c.broken());  // a caller stopping here leaves a reply the next one would take as its own
  auto set = c.reply();
  REQUIRE(set);
  CHECK(c.broken());
  auto get = c.reply();
  REQUIRE(get);
  CHECK(redis::text(get->get()) == "1");
  CHECK_FALSE(c.broken());
}

TEST_CASE("store::redis::check: what a retry may change is store_unavailable, the rest is not") {
  Scratch s;
  const auto code_of = [&](std::vector<std::string> command) {
    std::vector<std::string_view> args(command.begin(), command.end());
    auto r = s.raw.command(args);
    REQUIRE(r);
    auto checked = redis::check(r->get(), "test");
    REQUIRE_FALSE(checked);
    CHECK(checked.error().message.find("redis test: ") == 0);
    return checked.error().code;
  };
  const std::string k = s.key(":k");
  CHECK(code_of({"EVAL", "return string.format('%d', nil)", "0"}) == util::Errc::internal);
  CHECK(code_of({"EVAL", "return redis.call('NOSUCH')", "0"}) == util::Errc::internal);
  REQUIRE(s.raw.command({"SET", k, "not a stream"}));
  CHECK(code_of({"EVAL", "return redis.call('XADD', KEYS[1], '5-0', 'x', 'y')", "1", k}) == util::Errc::store_corrupt);
  REQUIRE(s.raw.command({"DEL", k}));
  REQUIRE(s.raw.command({"XADD", k, "5-0", "x", "y"}));
  CHECK(code_of({"XADD", k, "5-0", "x", "y"}) == util::Errc::store_corrupt);
  CHECK(code_of({"EVAL", "return redis.error_reply('LOADING Redis is loading the dataset in memory')", "0"}) ==
        util::Errc::store_unavailable);
  CHECK(code_of({"EVAL", "return redis.error_reply('READONLY You can\'t write against a read only replica.')", "0"}) ==
        util::Errc::store_unavailable);
  CHECK(code_of({"EVAL", "return redis.error_reply('OOM command not allowed')", "0"}) == util::Errc::store_full);
  CHECK(code_of({"EVAL", "return redis.error_reply('FENCED other')", "0"}) == util::Errc::store_locked);
}

TEST_CASE("store::RedisStore::open refuses what is not its store") {
  Scratch s;
  SUBCASE("read-only open of an empty prefix") {
    RedisOptions o = options_for(s.url);
    o.read_only = true;
    auto r = RedisStore::open(o);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::store_open_failed);
    CHECK(r.error().message.find("no ssestitch store") != std::string::npos);
  }
  SUBCASE("another program's keys") {
    REQUIRE(s.raw.command({"HSET", s.key(":meta"), "magic", "someone-else"}));
    auto r = RedisStore::open(options_for(s.url));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::store_not_a_store);
  }
  SUBCASE("another format version") {
    REQUIRE(s.raw.command({"HSET", s.key(":meta"), "magic", "ssestitch-redis-store", "format_version", "99"}));
    auto r = RedisStore::open(options_for(s.url));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::store_version);
    CHECK(r.error().message.find("99") != std::string::npos);
  }
  SUBCASE("nothing listens") {
    auto r = RedisStore::open(options_for("unix:///nonexistent/redis.sock"));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::store_unavailable);
    CHECK(r.error().message.find("unix:///nonexistent/redis.sock") != std::string::npos);
  }
}

TEST_CASE("store::RedisStore: several writers creating one prefix at once all open it") {
  Scratch s;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (RedisStore::open(options_for(s.url))) ++opened;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(opened.load() == 4);  // none saw the magic without the version
}

TEST_CASE("store::RedisStore several writers share a prefix, one per stream") {
  Scratch s;
  auto a = RedisStore::open(options_for(s.url));
  auto b = RedisStore::open(options_for(s.url));
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(commit(**a, events_batch(1, 1, 3)));
  // A's stream is fenced; B's own stream in the same batch is written.
  Batch both = events_batch(1, 4, 4);
  Batch own = events_batch(2, 1, 2);
  both.events.insert(both.events.end(), own.events.begin(), own.events.end());
  both.streams.insert(both.streams.end(), own.streams.begin(), own.streams.end());
  auto refused = commit(**b, std::move(both));
  REQUIRE(refused);
  CHECK(refused->fenced == std::vector<std::uint64_t>{1});
  CHECK(seqs(**a, 1) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(seqs(**a, 2) == std::vector<std::uint64_t>{1, 2});  // everyone reads everything
  CHECK(*(*a)->claim(1));
  CHECK_FALSE(*(*b)->claim(1));  // its writer lives
  CHECK(*(*b)->claim(99));       // nobody's yet
  const std::uint64_t x = (*a)->allocate_stream_number();
  const std::uint64_t y = (*b)->allocate_stream_number();
  CHECK(x != y);                  // numbers come from one counter in blocks

  SUBCASE("the owner closed: its streams move, the numbering goes on") {
    a->reset();
    REQUIRE(*(*b)->claim(1));
    REQUIRE(commit(**b, events_batch(1, 4, 5)));
    CHECK(seqs(**b, 1) == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
    CHECK(stored_stream(**b, 1).next_seq == 6);
  }
  SUBCASE("an owner paused past its liveness TTL is fenced after the claim") {
    auto keys = s.raw.command({"KEYS", s.key(":live:*")});
    REQUIRE(keys);
    REQUIRE(redis::elements(keys->get()) == 2);
    // Whichever key is A's: delete both, B renews its own within a third of the TTL.
    for (std::size_t i = 0; i < 2; ++i) REQUIRE(s.raw.command({"DEL", std::string(redis::text(redis::element(keys->get(), i)))}));
    REQUIRE(*(*b)->claim(1));
    auto fenced = commit(**a, events_batch(1, 4, 4));
    REQUIRE(fenced);
    CHECK(fenced->fenced == std::vector<std::uint64_t>{1});
    CHECK(seqs(**b, 1) == std::vector<std::uint64_t>{1, 2, 3});
    REQUIRE(commit(**b, events_batch(1, 4, 4)));
  }
  RedisOptions ro = options_for(s.url);
  ro.read_only = true;
  auto reader = RedisStore::open(ro);
  REQUIRE(reader);
  CHECK_FALSE(*(*reader)->claim(1));
}

TEST_CASE("store::RedisStore packs a commit's events into entries, trimmed event by event") {
  Scratch s;
  RedisOptions o = options_for(s.url);
  o.retention.max_events_per_stream = 300;
  auto opened = RedisStore::open(o);
  REQUIRE(opened);
  SessionStore& st = **opened;
  REQUIRE(commit(st, events_batch(1, 1, 600)));  // 600 events: 256 + 256 + 88, the first 300 dropped
  const std::string ev = s.key(":ev:{1}");
  auto len = s.raw.command({"XLEN", ev});
  REQUIRE(len);
  CHECK(redis::integer(len->get()) == 2);  // the first entry went whole, the second holds 257..512
  auto head = s.raw.command({"XRANGE", ev, "-", "+", "COUNT", "1"});
  REQUIRE(head);
  CHECK(redis::text(redis::element(redis::element(head->get(), 0), 0)) == "512-0");
  auto summaries = s.raw.command({"LLEN", s.key(":ix:{1}")});
  REQUIRE(summaries);
  CHECK(redis::integer(summaries->get()) == 2);  // one per entry left, the head's included
  std::vector<std::uint64_t> want(300);
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = 301 + i;
  CHECK(seqs(st, 1) == want);  // 257..300 are in the head entry, but gone
  CHECK(stored_stream(st, 1).retained.first_seq == 301);
  auto after = st.events(1, 299, 3);
  REQUIRE(after);
  REQUIRE(after->size() == 3);
  CHECK((*after)[0].seq == 301);
  after = st.events(1, 511, 2);
  REQUIRE(after);
  REQUIRE(after->size() == 2);
  CHECK((*after)[0].seq == 512);
  CHECK((*after)[1].seq == 513);
  SUBCASE("a malformed entry is store_corrupt, not a crash") {
    REQUIRE(s.raw.command({"XADD", ev, "700-0", "x", "short", "p", ""}));
    auto bad = st.events(1, 600, 10);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == util::Errc::store_corrupt);
  }
}

TEST_CASE("store::RedisStore trims a stream without summaries from its entries") {
  // A stream written before the summaries existed (or since by a writer that does not keep
  // them) has none that cover it: retention reads its entries until the stream empties.
  Scratch s;
  util::ManualClock clock;
  RedisOptions o = options_for(s.url);
  o.retention.max_events_per_stream = 300;
  o.retention.max_age_ms = 10'000;
  o.clock = &clock;
  auto opened = RedisStore::open(o);
  REQUIRE(opened);
  SessionStore& st = **opened;
  REQUIRE(commit(st, events_batch(1, 1, 200, 16, clock.wall_ms())));
  const std::string ix = s.key(":ix:{1}");
  SUBCASE("none at all") {
    REQUIRE(s.raw.command({"DEL", ix}));
    REQUIRE(s.raw.command({"HDEL", s.key(":st:{1}"), "ix_last"}));
  }
  SUBCASE("some, but not of the newest entries") {
    REQUIRE(s.raw.command({"HSET", s.key(":st:{1}"), "ix_last", "150"}));
  }
  REQUIRE(commit(st, events_batch(1, 201, 450, 16, clock.wall_ms())));
  std::vector<std::uint64_t> want(300);
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = 151 + i;
  CHECK(seqs(st, 1) == want);
  CHECK(stored_stream(st, 1).retained.first_seq == 151);
  const auto summaries = [&] {
    auto len = s.raw.command({"LLEN", ix});
    REQUIRE(len);
    return redis::integer(len->get());
  };
  CHECK(summaries() == 0);  // not kept while they cannot cover the stream

  // The age pass empties the stream; from then on its summaries are kept again.
  clock.advance_ms(20'000);
  Batch nudge;
  nudge.sessions.push_back(SessionRecord{"nudge", "", "", "", 0, 0, SessionState::open});
  REQUIRE(commit(st, std::move(nudge)));
  CHECK(seqs(st, 1).empty());
  REQUIRE(commit(st, events_batch(1, 451, 452, 16, clock.wall_ms())));
  CHECK(seqs(st, 1) == std::vector<std::uint64_t>{451, 452});
  CHECK(summaries() == 1);
}

TEST_CASE("store::RedisStore: what Redis refuses for good fails the commit at once, without the hold") {
  // A hold (outage_hold_ms, 60 s here) is for what a retry may change; a key of another type
  // where a stream's events go never changes by itself.
  Scratch s;
  RedisOptions o = options_for(s.url);
  o.outage_hold_ms = 60'000;
  auto opened = RedisStore::open(o);
  REQUIRE(opened);
  SessionStore& st = **opened;
  REQUIRE(commit(st, events_batch(2, 1, 3)));
  REQUIRE(s.raw.command({"DEL", s.key(":ev:{2}")}));
  REQUIRE(s.raw.command({"SET", s.key(":ev:{2}"), "another program's"}));
  auto r = commit(st, events_batch(2, 4, 6));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == util::Errc::store_corrupt);
  CHECK(r.error().message.find("WRONGTYPE") != std::string::npos);
  CHECK(st.metrics().degraded);  // the last commit failed
  REQUIRE(commit(st, events_batch(1, 1, 3)));  // the other streams go on
  CHECK(seqs(st, 1) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK_FALSE(st.metrics().degraded);
}

TEST_CASE("store::RedisStore with replicas wanted and none there: the commit fails after the hold") {
  Scratch s;
  RedisOptions o = options_for(s.url);
  o.replicas = 1;
  o.replica_wait_ms = 50;
  o.outage_hold_ms = 300;
  auto opened = RedisStore::open(o);
  REQUIRE(opened);
  auto r = commit(**opened, events_batch(1, 1, 3));
  REQUIRE_FALSE(r);
  CHECK(r.error().code == util::Errc::store_unavailable);
  CHECK(r.error().message.find("0 of 1 replicas") != std::string::npos);
}

TEST_CASE("store::RedisStore recovers from a lost connection and a flushed script cache") {
  Scratch s;
  auto opened = RedisStore::open(options_for(s.url));
  REQUIRE(opened);
  SessionStore& st = **opened;
  REQUIRE(commit(st, events_batch(1, 1, 3)));
  SUBCASE("the server closed the writer's connection") {
    auto killed = s.raw.command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"});
    REQUIRE(killed);
    CHECK(redis::integer(killed->get()) >= 1);
  }
  SUBCASE("SCRIPT FLUSH") {
    REQUIRE(s.raw.command({"SCRIPT", "FLUSH"}));
  }
  // The writer finds the broken connection (or the missing script) by using it, sends the
  // group again on a new connection and commits it: the caller sees no error. Its reader
  // connection recovers the same way.
  REQUIRE(commit(st, events_batch(1, 4, 6)));
  REQUIRE(commit(st, events_batch(1, 4, 7)));  // 4..6 again: skipped as stale, 7 appended
  CHECK(seqs(st, 1) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7});
  CHECK(stored_stream(st, 1).next_seq == 8);
  CHECK(stored_stream(st, 1).retained.events == 7);
}

TEST_CASE("store::RedisStore holds commits while Redis is away, then commits them") {
  RedisServer server("redis_restart", true);
  REQUIRE_MESSAGE(server.running(), server.error());
  RedisOptions o = options_for(server.url("hold"));
  o.liveness_ms = 3000;
  auto opened = RedisStore::open(o);
  REQUIRE(opened);
  SessionStore& st = **opened;
  REQUIRE(commit(st, events_batch(1, 1, 3)));
  server.stop();
  std::mutex m;
  std::optional<util::Result<CommitInfo>> got;
  REQUIRE(st.submit(events_batch(1, 4, 6), [&](const util::Result<CommitInfo>& r) {
    std::lock_guard lk(m);
    got = r;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard lk(m);
    CHECK_FALSE(got.has_value());  // held, not failed
  }
  CHECK(st.metrics().degraded);
  server.start();
  REQUIRE(server.running());
  REQUIRE(st.flush());  // never hangs: the hold gives up after outage_hold_ms (60 s)
  {
    std::lock_guard lk(m);
    REQUIRE(got.has_value());
    CHECK(*got);
  }
  CHECK_FALSE(st.metrics().degraded);
  CHECK(seqs(st, 1) == std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("store::RedisStore on the proxy's loop: commits there in order, the writer holds them while Redis is away") {
  RedisServer server("redis_loop", true);
  REQUIRE_MESSAGE(server.running(), server.error());
  auto loop = make_store_loop();  // before the store: its watch lives on the loop
  RedisOptions o = options_for(server.url("loop"));
  o.liveness_ms = 3000;
  auto opened = RedisStore::open(o);
  REQUIRE(opened);
  SessionStore& st = **opened;
  attach_store_loop(st, *loop);
  REQUIRE(commit(st, events_batch(1, 1, 1)));  // the writer thread loads stream 1's record

  const auto loop_thread = std::this_thread::get_id();
  std::mutex m;
  std::vector<std::uint64_t> done;  // the first seq of each batch, in callback order
  int on_loop = 0;
  int failed = 0;
  auto submit = [&](std::uint64_t seq) {
    REQUIRE(st.submit(events_batch(1, seq, seq), [&, seq](const util::Result<CommitInfo>& r) {
      std::lock_guard lk(m);
      done.push_back(seq);
      on_loop += std::this_thread::get_id() == loop_thread ? 1 : 0;
      failed += r ? 0 : 1;
    }));
  };
  // Two batches per tick: the second, submitted while the first is in flight, is sent behind it
  // (or goes to the writer thread when the loop cannot send it); submission order holds.
  std::uint64_t next = 2;
  std::unique_ptr<net::Timer> tick;
  tick = std::make_unique<net::Timer>(*loop, [&] {
    submit(next++);
    submit(next++);
    if (next <= 400) tick->arm_ms(1);
  });
  tick->arm_ms(0);
  CHECK(run_until(*loop, [&] {
    std::lock_guard lk(m);
    return done.size() == 400;  // seqs 2..401: the last tick submits 400 and 401
  }));
  {
    std::lock_guard lk(m);
    CHECK(std::is_sorted(done.begin(), done.end()));
    CHECK(failed == 0);
    CHECK(on_loop > 0);  // the writer opened the loop's connection soon after attach_loop
    MESSAGE("callbacks on the loop thread: " << on_loop << " of " << done.size());
  }

  // Redis goes away with a batch on the loop: the writer thread holds it until Redis is back.
  server.stop();
  const std::uint64_t held = next;
  tick = std::make_unique<net::Timer>(*loop, [&] { submit(next++); });
  tick->arm_ms(0);
  run_until(*loop, [&] { return next > held; });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard lk(m);
    CHECK(done.back() < held);  // held, not failed
  }
  server.start();
  REQUIRE(server.running());
  CHECK(run_until(*loop, [&] {
    std::lock_guard lk(m);
    return done.back() == held;
  }));
  REQUIRE(st.flush());
  CHECK(failed == 0);
  std::vector<std::uint64_t> want;
  for (std::uint64_t s = 1; s <= held; ++s) want.push_back(s);
  CHECK(seqs(st, 1) == want);
}

TEST_SUITE_END();
