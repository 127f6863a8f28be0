#include <doctest/doctest.h>

#include <string>

#include "core/sse/writer.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("sse");

TEST_CASE("sse::append_event") {
  std::string out;
  SUBCASE("id, type and one data line") {
    sse::append_event(out, sse::OutEvent{"3-7", "update", "{\"a\":1}", std::nullopt});
    CHECK(out == "id: 3-7\nevent: update\ndata: {\"a\":1}\n\n");
  }
  SUBCASE("data is split on LF, CRLF and CR") {
    sse::append_event(out, sse::OutEvent{"", "", "a\nb\r\nc\rd", std::nullopt});
    CHECK(out == "data: a\ndata: b\ndata: c\ndata: d\n\n");
  }
  SUBCASE("empty data still dispatches") {
    sse::append_event(out, sse::OutEvent{"1", "", "", std::nullopt});
    CHECK(out == "id: 1\ndata: \n\n");
  }
  SUBCASE("trailing newline in data gives an empty last data line") {
    sse::append_event(out, sse::OutEvent{"", "", "a\n", std::nullopt});
    CHECK(out == "data: a\ndata: \n\n");
  }
  SUBCASE("retry comes first") {
    sse::append_event(out, sse::OutEvent{"9", "", "x", 1500});
    CHECK(out == "retry: 1500\nid: 9\ndata: x\n\n");
  }
  SUBCASE("line ends and NUL are removed from id and type") {
    sse::append_event(out, sse::OutEvent{std::string("a\nb\0c", 5), "t\r1", "x", std::nullopt});
    CHECK(out == "id: abc\nevent: t1\ndata: x\n\n");
  }
  SUBCASE("appends to what is there") {
    out.assign(1, 'x');
    sse::append_event(out, sse::OutEvent{"", "", "y", std::nullopt});
    CHECK(out == "xdata: y\n\n");
  }
}

TEST_CASE("sse::append_comment, append_retry, append_keepalive, append_id_only") {
  std::string out;
  sse::append_comment(out, "hello\nworld");
  CHECK(out == ": helloworld\n");
  out.clear();
  sse::append_retry(out, 3000);
  CHECK(out == "retry: 3000\n\n");
  out.clear();
  sse::append_keepalive(out);
  CHECK(out == ": keepalive\n\n");
  out.clear();
  sse::append_id_only(out, "4-0");
  CHECK(out == "id: 4-0\n\n");
}

TEST_SUITE_END();
