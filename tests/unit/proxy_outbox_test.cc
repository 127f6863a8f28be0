#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/proxy/outbox.h"

using namespace ssestitch;

namespace {

std::string text(std::uint64_t seq) {
  std::string t = "e";
  t.append(std::to_string(seq)).push_back(';');
  return t;
}

void add(proxy::Outbox& box, std::uint64_t seq) {
  box.buffer().append(text(seq));
  box.end_event(seq);
}

}  // namespace

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::Outbox: a commit releases its run in one write, in seq order, and skips what was sent") {
  proxy::Outbox box;
  CHECK(box.empty());
  for (std::uint64_t s = 1; s <= 5; ++s) add(box, s);
  std::vector<std::string> writes;
  auto write = [&](std::string_view v) { writes.emplace_back(v); };

  auto r = box.release(3, 0, write);  // events 1..3 committed, none sent before
  CHECK(r.count == 3);
  CHECK(r.last_seq == 3);
  REQUIRE(writes.size() == 1);
  CHECK(writes[0] == "e1;e2;e3;");
  CHECK_FALSE(box.empty());

  r = box.release(3, 0, write);  // nothing new committed: no write
  CHECK(r.count == 0);
  CHECK(writes.size() == 1);

  add(box, 6);
  r = box.release(6, 4, write);  // 4 went out another way (a replay): only 5 and 6
  CHECK(r.count == 2);
  CHECK(r.last_seq == 6);
  REQUIRE(writes.size() == 2);
  CHECK(writes[1] == "e5;e6;");
  CHECK(box.empty());

  // Reused after it emptied, and after clear().
  add(box, 7);
  add(box, 8);
  box.clear();
  CHECK(box.empty());
  add(box, 9);
  r = box.release(9, 0, write);
  CHECK(writes.back() == "e9;");
  CHECK(box.empty());
}

TEST_CASE("proxy::Outbox: many partial releases keep the order and the bytes (the buffer compacts underneath)") {
  proxy::Outbox box;
  std::string written;
  std::uint64_t next = 1;
  std::uint64_t committed = 0;
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 7; ++i) add(box, next++);
    committed += 5;  // commits trail the arrivals: the outbox never empties until the end
    box.release(committed, 0, [&](std::string_view v) { written += v; });
  }
  box.release(next - 1, 0, [&](std::string_view v) { written += v; });
  CHECK(box.empty());
  std::string expected;
  for (std::uint64_t s = 1; s < next; ++s) expected += text(s);
  CHECK(written == expected);
}

TEST_SUITE_END();
