#include <doctest/doctest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/sse/parser.h"
#include "core/sse/writer.h"

using namespace ssestitch;

namespace {

// A reported block, copied out of the callback.
struct Got {
  std::string type, data;
  std::optional<std::string> id;
  std::optional<std::uint32_t> retry;
  bool dispatch = false;
  std::string raw;
  bool operator==(const Got&) const = default;
};

struct Run {
  std::vector<Got> events;
  std::optional<util::Errc> error;
  std::string last_event_id;
  bool operator==(const Run&) const = default;
};

// Feeds `chunks` in order to one parser. Each chunk is fed from a scratch buffer that is
// overwritten once feed() returns, as a reused read buffer would be: a view the parser kept into
// it (a block's data framed in place) shows up as garbage in a later event.
Run feed_chunks(const std::vector<std::string>& chunks, sse::Limits limits = {}, sse::Raw raw = sse::Raw::keep) {
  Run run;
  sse::Parser parser(limits, raw);
  std::string scratch;
  for (const std::string& c : chunks) {
    scratch = c;
    auto r = parser.feed(scratch, [&](const sse::Event& e) {
      run.events.push_back(Got{e.type, std::string(e.data), e.id, e.retry, e.dispatch, std::string(e.raw)});
    });
    scratch.assign(scratch.size(), '#');
    if (!r) {
      run.error = r.error().code;
      break;
    }
  }
  run.last_event_id = parser.last_event_id();
  return run;
}

// Parses `input` whole, one byte at a time, and split at every point into two pieces, and
// checks that every way gives the same result, with raw blocks kept or dropped (then empty);
// returns it.
Run parse_all_ways(const std::string& input, sse::Limits limits = {}) {
  const Run whole = feed_chunks({input}, limits);
  Run no_raw = whole;
  for (Got& g : no_raw.events) g.raw.clear();
  std::vector<std::string> bytes;
  for (char c : input) bytes.emplace_back(1, c);
  CHECK(feed_chunks(bytes, limits) == whole);
  CHECK(feed_chunks(bytes, limits, sse::Raw::drop) == no_raw);
  CHECK(feed_chunks({input}, limits, sse::Raw::drop) == no_raw);
  for (std::size_t i = 1; i < input.size(); ++i) {
    const Run split = feed_chunks({input.substr(0, i), input.substr(i)}, limits);
    CHECK_MESSAGE(split == whole, "split at " << i);
    const Run split_no_raw = feed_chunks({input.substr(0, i), input.substr(i)}, limits, sse::Raw::drop);
    CHECK_MESSAGE(split_no_raw == no_raw, "split at " << i << ", raw dropped");
  }
  return whole;
}

Got msg(std::string data, std::optional<std::string> id = std::nullopt, std::string type = "") {
  Got g;
  g.data = std::move(data);
  g.id = std::move(id);
  g.type = std::move(type);
  g.dispatch = true;
  return g;
}

// Compares the parsed fields, ignoring raw.
std::vector<Got> fields(std::vector<Got> events) {
  for (Got& g : events) g.raw.clear();
  return events;
}

}  // namespace

TEST_SUITE_BEGIN("sse");

TEST_CASE("sse::Parser::feed") {
  SUBCASE("data lines are joined with LF and the trailing LF is removed") {
    Run r = parse_all_ways("data: a\ndata: b\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("a\nb")});
  }
  SUBCASE("LF, CRLF and CR line ends are equivalent") {
    Run lf = parse_all_ways("id: 1\ndata: x\n\n");
    Run crlf = parse_all_ways("id: 1\r\ndata: x\r\n\r\n");
    Run cr = parse_all_ways("id: 1\rdata: x\r\r");
    CHECK(lf == crlf);
    CHECK(lf == cr);
    CHECK(fields(lf.events) == std::vector<Got>{msg("x", "1")});
  }
  SUBCASE("CR at the end of one chunk and LF at the start of the next are one line end") {
    Run r = feed_chunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
    CHECK(fields(r.events) == std::vector<Got>{msg("a\nb")});
  }
  SUBCASE("a UTF-8 BOM at the start is skipped, also when split") {
    const std::string bom = "\xEF\xBB\xBF";
    Run r = parse_all_ways(bom + "data: x\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("x")});
    Run split = feed_chunks({"\xEF", "\xBB", "\xBF" "data: y\n\n"});
    CHECK(fields(split.events) == std::vector<Got>{msg("y")});
  }
  SUBCASE("only one BOM, only at the start") {
    const std::string bom = "\xEF\xBB\xBF";
    Run r = parse_all_ways(bom + bom + "data: x\n\n");
    // The second BOM is part of the first line's field name: an unknown field.
    CHECK(r.events.size() == 1);
    CHECK_FALSE(r.events[0].dispatch);
    Run later = parse_all_ways("data: x\n\n" + bom + "data: y\n\n");
    REQUIRE(later.events.size() == 2);
    CHECK(later.events[0].data == "x");
    CHECK_FALSE(later.events[1].dispatch);  // "\xEF\xBB\xBF" "data" is an unknown field
  }
  SUBCASE("a partial BOM followed by other bytes is data") {
    Run r = feed_chunks({"\xEF\xBB", "data: x\n\n"});
    REQUIRE(r.events.size() == 1);
    CHECK_FALSE(r.events[0].dispatch);  // field "\xEF\xBB" "data" is unknown
  }
  SUBCASE("event sets the type") {
    Run r = parse_all_ways("event: add\ndata: 1\n\nevent: remove\ndata: 2\n\ndata: 3\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("1", std::nullopt, "add"), msg("2", std::nullopt, "remove"), msg("3")});
  }
  SUBCASE("id field with NUL is ignored") {
    Run r = parse_all_ways(std::string("id: 1\n\nid: a\0b\ndata: x\n\n", 24));
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[1].id == std::nullopt);
    CHECK(r.last_event_id == "1");
  }
  SUBCASE("an empty id resets the last event id") {
    Run r = parse_all_ways("id: 7\ndata: a\n\nid\ndata: b\n\n");
    REQUIRE(r.events.size() == 2);
    CHECK(r.events[0].id == "7");
    CHECK(r.events[1].id == "");
    CHECK(r.last_event_id == "");
  }
  SUBCASE("the last event id persists across blocks") {
    sse::Parser p;
    std::vector<std::string> seen;
    auto cb = [&](const sse::Event&) { seen.push_back(p.last_event_id()); };
    REQUIRE(p.feed("id: 5\ndata: a\n\ndata: b\n\n", cb));
    CHECK(seen == std::vector<std::string>{"5", "5"});
  }
  SUBCASE("retry with ASCII digits only") {
    Run r = parse_all_ways("retry: 1500\n\nretry: 12a\n\nretry: -1\n\nretry:\n\nretry:  7\n\n");
    REQUIRE(r.events.size() == 5);
    CHECK(r.events[0].retry == 1500u);
    CHECK(r.events[1].retry == std::nullopt);
    CHECK(r.events[2].retry == std::nullopt);
    CHECK(r.events[3].retry == std::nullopt);
    CHECK(r.events[4].retry == std::nullopt);  // " 7" after the one removed space is not digits
    for (const Got& g : r.events) CHECK_FALSE(g.dispatch);
  }
  SUBCASE("a huge retry is clamped") {
    Run r = parse_all_ways("retry: 99999999999999999999999\n\n");
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].retry == 4294967295u);
  }
  SUBCASE("comment lines are ignored and counted") {
    sse::Parser p;
    std::vector<std::string> data;
    REQUIRE(p.feed(": hello\ndata: x\n: inside\ndata: y\n\n: bye\n\n", [&](const sse::Event& e) { data.emplace_back(e.data); }));
    CHECK(data == std::vector<std::string>{"x\ny"});
    CHECK(p.comment_count() == 3);
  }
  SUBCASE("a comment-only block reports nothing") {
    Run r = parse_all_ways(": keepalive\n\n: keepalive\n\n");
    CHECK(r.events.empty());
  }
  SUBCASE("field without colon has an empty value") {
    Run r = parse_all_ways("data\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("")});
  }
  SUBCASE("only one leading space is removed") {
    Run r = parse_all_ways("data:  two\ndata:none\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg(" two\nnone")});
  }
  SUBCASE("unknown fields are ignored") {
    Run r = parse_all_ways("foo: bar\ndata: x\nData: y\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("x")});
  }
  SUBCASE("an empty data buffer does not dispatch but the id still moves") {
    Run r = parse_all_ways("id: 9\n\ndata: a\n\n");
    REQUIRE(r.events.size() == 2);
    CHECK_FALSE(r.events[0].dispatch);
    CHECK(r.events[0].id == "9");
    CHECK(r.events[1].dispatch);
    CHECK(r.last_event_id == "9");
  }
  SUBCASE("data: with an empty value dispatches an event with empty data") {
    Run r = parse_all_ways("id: 1\ndata:\n\n");
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].dispatch);
    CHECK(r.events[0].data == "");
  }
  SUBCASE("an incomplete block at the end is not reported") {
    Run r = parse_all_ways("data: a\n\ndata: b\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("a")});
  }
  SUBCASE("raw is the block's lines, LF-terminated, whatever the split or line ends") {
    Run r = parse_all_ways(": before\r\nid: 1\r\n: inside\rdata: x\r\n\r\n");
    REQUIRE(r.events.size() == 1);
    CHECK(r.events[0].raw == "id: 1\n: inside\ndata: x\n\n");
  }
}

TEST_CASE("sse::Parser WHATWG examples") {
  // HTML Living Standard, "Server-sent events", §9.2.6 examples.
  SUBCASE("stock ticker") {
    Run r = parse_all_ways("data: YHOO\ndata: +2\ndata: 10\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("YHOO\n+2\n10")});
  }
  SUBCASE("four blocks with comments and ids") {
    Run r = parse_all_ways(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n");
    REQUIRE(r.events.size() == 2);  // the third block has no blank line after it
    CHECK(r.events[0].data == "first event");
    CHECK(r.events[0].id == "1");
    CHECK(r.events[1].data == "second event");
    CHECK(r.events[1].id == "");
    CHECK(r.last_event_id == "");
    Run closed = parse_all_ways(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n");
    REQUIRE(closed.events.size() == 3);
    CHECK(closed.events[2].data == " third event");
  }
  SUBCASE("empty data lines") {
    Run r = parse_all_ways("data\n\ndata\ndata\n\ndata:");
    CHECK(fields(r.events) == std::vector<Got>{msg(""), msg("\n")});
  }
  SUBCASE("space after colon") {
    Run r = parse_all_ways("data:test\n\ndata: test\n\n");
    CHECK(fields(r.events) == std::vector<Got>{msg("test"), msg("test")});
  }
}

TEST_CASE("sse::Parser limits") {
  SUBCASE("line too long") {
    sse::Limits limits{16, 1024};
    sse::Parser p(limits);
    auto r = p.feed("data: 0123456789abcdef\n\n", [](const sse::Event&) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::sse_line_too_long);
    CHECK(r.error().message == "sse: line of 22 bytes exceeds the limit of 16");
  }
  SUBCASE("a partial line beyond the limit fails before its end arrives") {
    sse::Parser p(sse::Limits{16, 1024});
    REQUIRE(p.feed("data: 0123", [](const sse::Event&) {}));
    auto r = p.feed("456789abcdef", [](const sse::Event&) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().message == "sse: line longer than the limit of 16 bytes");
  }
  SUBCASE("event too large, and poisoned until reset") {
    sse::Parser p(sse::Limits{64, 40});
    int events = 0;
    auto cb = [&](const sse::Event&) { ++events; };
    auto r = p.feed("data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n", cb);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::sse_event_too_large);
    CHECK(r.error().message == "sse: event larger than the limit of 40 bytes");
    auto again = p.feed("data: x\n\n", cb);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == util::Errc::sse_event_too_large);
    CHECK(events == 0);
    p.reset();
    CHECK(p.feed("data: x\n\n", cb));
    CHECK(events == 1);
  }
  SUBCASE("the event limit holds with raw blocks dropped") {
    sse::Parser p(sse::Limits{64, 40}, sse::Raw::drop);
    auto r = p.feed("data: 0123456789\ndata: 0123456789\ndata: 0123456789\n\n", [](const sse::Event&) {});
    REQUIRE_FALSE(r);
    CHECK(r.error().code == util::Errc::sse_event_too_large);
  }
  SUBCASE("an endless block without blank lines stops at the event limit") {
    sse::Parser p(sse::Limits{1024, 4096});
    util::Result<void> r = util::ok();
    int chunks = 0;
    while (r && chunks < 1000) {
      r = p.feed("data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", [](const sse::Event&) {});
      ++chunks;
    }
    REQUIRE_FALSE(r);
    CHECK(chunks < 100);
  }
  SUBCASE("endless comments outside a block stay within bounds") {
    sse::Parser p(sse::Limits{1024, 128});
    for (int i = 0; i < 1000; ++i) REQUIRE(p.feed(": keepalive\n", [](const sse::Event&) {}));
    CHECK(p.comment_count() == 1000);
  }
}

TEST_CASE("sse::Parser::reset") {
  sse::Parser p;
  std::vector<std::string> data;
  auto cb = [&](const sse::Event& e) { data.emplace_back(e.data); };
  REQUIRE(p.feed("id: 3\ndata: a\n\ndata: partial", cb));
  p.reset();  // a new connection: the partial block is dropped, the id survives, a BOM is allowed
  REQUIRE(p.feed("\xEF\xBB\xBF" "data: b\n\n", cb));
  CHECK(data == std::vector<std::string>{"a", "b"});
  CHECK(p.last_event_id() == "3");
}

TEST_CASE("sse round trip property: write, split at random points, parse") {
  std::mt19937_64 rng(20261124);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::string alphabet = "abc xyz:\xC3\xA9\r\n0123";
  for (int iteration = 0; iteration < 300; ++iteration) {
    struct Original {
      std::string id, type, data;
      std::optional<std::uint32_t> retry;
    };
    std::vector<Original> originals;
    std::string wire = pick(4) == 0 ? "\xEF\xBB\xBF" : "";
    const std::size_t n = 1 + pick(8);
    for (std::size_t i = 0; i < n; ++i) {
      Original o;
      if (pick(3) != 0) o.id = "id-" + std::to_string(rng() % 100000);
      if (pick(4) == 0) o.type = "type" + std::to_string(pick(5));
      const std::size_t len = pick(40);
      for (std::size_t k = 0; k < len; ++k) o.data += alphabet[pick(alphabet.size())];
      if (pick(5) == 0) o.retry = static_cast<std::uint32_t>(rng() % 100000);
      if (pick(4) == 0) sse::append_comment(wire, "c");
      if (pick(6) == 0) sse::append_keepalive(wire);
      sse::append_event(wire, sse::OutEvent{o.id, o.type, o.data, o.retry});
      originals.push_back(o);
    }
    std::vector<std::string> chunks;
    std::size_t pos = 0;
    while (pos < wire.size()) {
      const std::size_t len = 1 + pick(std::min<std::size_t>(wire.size() - pos, 17));
      chunks.push_back(wire.substr(pos, len));
      pos += len;
    }
    const Run r = feed_chunks(chunks);
    REQUIRE_FALSE(r.error);
    REQUIRE(r.events.size() == originals.size());
    for (std::size_t i = 0; i < originals.size(); ++i) {
      std::string expected;  // CR and CRLF in data are line ends: they come back as LF
      for (std::size_t k = 0; k < originals[i].data.size(); ++k) {
        const char c = originals[i].data[k];
        if (c == '\r') {
          expected += '\n';
          if (k + 1 < originals[i].data.size() && originals[i].data[k + 1] == '\n') ++k;
        } else {
          expected += c;
        }
      }
      CHECK(r.events[i].dispatch);
      CHECK(r.events[i].data == expected);
      CHECK(r.events[i].type == originals[i].type);
      CHECK(r.events[i].id == (originals[i].id.empty() ? std::nullopt : std::optional<std::string>(originals[i].id)));
      CHECK(r.events[i].retry == originals[i].retry);
    }
    CHECK(feed_chunks({wire}) == r);
  }
}

TEST_SUITE_END();
