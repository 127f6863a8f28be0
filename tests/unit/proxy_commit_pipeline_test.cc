#include <doctest/doctest.h>

#include <string>
#include <tuple>
#include <vector>

#include "core/proxy/commit_pipeline.h"
#include "tests/unit/proxy_test_support.h"
#include "tests/unit/store_test_support.h"

using namespace ssestitch;

namespace {

struct Committed {
  std::uint64_t stream, upto;
  bool durable;
  std::size_t stored;  // events of the stream in the store when the callback ran
  bool operator==(const Committed&) const = default;
};

}  // namespace

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::CommitPipeline: committed, per stream and in order, before anything is told") {
  test::for_each_store([](test::StoreFixture& fixture) {
    test::ProxyFixture f;
    auto store = fixture.open(test::keep_all(), &f.clock);
    std::vector<Committed> calls;
    std::vector<std::string> order;
    std::vector<std::uint64_t> snapshots;
    proxy::CommitPipeline pipeline(
        *f.loop, *store, f.metrics,
        [&](std::uint64_t no) -> std::optional<store::StreamRecord> {
          snapshots.push_back(no);
          return test::stream_record(no, no == 1 ? 4 : 3);
        },
        [&](std::uint64_t no, std::uint64_t upto, bool durable) {
          calls.push_back({no, upto, durable, test::seqs(*store, no).size()});
          order.push_back("committed " + std::to_string(no));
        });
    pipeline.mark_dirty(1);
    pipeline.mark_dirty(2);
    CHECK(pipeline.is_dirty(1));
    // Two streams' events interleaved, as two upstreams write in one loop turn.
    pipeline.add_event(test::event(1, 1, "a"));
    pipeline.add_event(test::event(2, 1, "b"));
    pipeline.add_event(test::event(1, 2, "c"));
    pipeline.add_event(test::event(2, 2, "d"));
    pipeline.add_event(test::event(1, 3, "e"));
    bool done = false;
    pipeline.after_commit([&](bool durable) {
      CHECK(durable);
      order.push_back("after_commit");
      done = true;
    });
    CHECK(calls.empty());  // nothing before the loop turn ends
    REQUIRE(f.run_until([&] { return done; }));
    CHECK_FALSE(pipeline.is_dirty(1));
    CHECK(snapshots.size() == 2);
    // One call per stream, with its highest seq, after the events were in the store.
    CHECK(calls == std::vector<Committed>{{1, 3, true, 3}, {2, 2, true, 2}});
    CHECK(order == std::vector<std::string>{"committed 1", "committed 2", "after_commit"});
    CHECK(test::stored_stream(*store, 1).next_seq == 4);
    CHECK(f.metrics.store_errors == 0);
  });
}

TEST_CASE("proxy::CommitPipeline: past its byte bound it refuses more until a commit drains it") {
  test::for_each_store([](test::StoreFixture& fixture) {
    test::ProxyFixture f;
    auto store = fixture.open(test::keep_all(), &f.clock);
    proxy::CommitPipeline pipeline(
        *f.loop, *store, f.metrics, [](std::uint64_t no) { return std::optional(test::stream_record(no, 1)); },
        [](std::uint64_t, std::uint64_t, bool) {}, 1000);
    pipeline.mark_dirty(7);
    bool resumed_early = false;
    pipeline.when_accepting([&] { resumed_early = true; });
    CHECK(resumed_early);  // accepting: called at once
    pipeline.add_event(test::event(7, 1, std::string(2000, 'x')));
    CHECK_FALSE(pipeline.accepting());
    bool resumed = false;
    pipeline.when_accepting([&] { resumed = true; });
    CHECK_FALSE(resumed);
    REQUIRE(f.run_until([&] { return resumed; }));
    CHECK(pipeline.accepting());
    CHECK(test::seqs(*store, 7) == std::vector<std::uint64_t>{1});
  });
}

TEST_CASE("proxy::CommitPipeline: drain() commits what is pending without the loop") {
  test::for_each_store([](test::StoreFixture& fixture) {
    test::ProxyFixture f;
    auto store = fixture.open(test::keep_all(), &f.clock);
    proxy::CommitPipeline pipeline(
        *f.loop, *store, f.metrics, [](std::uint64_t no) { return std::optional(test::stream_record(no, 3)); },
        [](std::uint64_t, std::uint64_t, bool) {});
    pipeline.mark_dirty(3);
    pipeline.add_event(test::event(3, 1));
    pipeline.add_event(test::event(3, 2));
    pipeline.drain();
    CHECK(test::seqs(*store, 3) == std::vector<std::uint64_t>{1, 2});
  });
}

TEST_CASE("proxy::CommitPipeline: a batch after note_backlog() is committed off the loop thread") {
  // LmdbStore commits an unmarked batch inline when its writer is idle; one marked backlog goes
  // to its writer thread, and the loop is told only when it runs again.
  test::LmdbFixture fixture;
  test::ProxyFixture f;
  auto store = fixture.open(test::keep_all(), &f.clock);
  std::vector<std::uint64_t> committed;
  proxy::CommitPipeline pipeline(
      *f.loop, *store, f.metrics, [](std::uint64_t) { return std::optional<store::StreamRecord>(); },
      [&](std::uint64_t, std::uint64_t upto, bool durable) {
        CHECK(durable);
        committed.push_back(upto);
      });
  pipeline.note_backlog();
  pipeline.add_event(test::event(5, 1));
  pipeline.add_event(test::event(5, 2));
  pipeline.flush_events();
  CHECK(committed.empty());  // queued: its completion waits for the loop
  REQUIRE(f.run_until([&] { return !committed.empty(); }));
  CHECK(committed == std::vector<std::uint64_t>{2});
  CHECK(test::seqs(*store, 5) == std::vector<std::uint64_t>{1, 2});
}

TEST_SUITE_END();
