#include <doctest/doctest.h>

#include <string>

#include "core/mcp/rewrite.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("mcp");

TEST_CASE("mcp::with_id replaces the top-level id and keeps every other byte") {
  CHECK(mcp::with_id(R"({"jsonrpc":"2.0","id":7,"method":"ping"})", R"("p-1")") ==
        R"({"jsonrpc":"2.0","id":"p-1","method":"ping"})");
  CHECK(mcp::with_id(R"({ "id" : "a\"b" , "params":{"id":3}})", "12") == R"({ "id" : 12 , "params":{"id":3}})");
  CHECK(mcp::with_id(R"({"result":{"id":1},"id":-4})", R"("x")") == R"({"result":{"id":1},"id":"x"})");
  CHECK(mcp::with_id("{\"id\":5\n}", "6") == "{\"id\":6\n}");
  // Not a message with an id: nothing to replace.
  CHECK_FALSE(mcp::with_id(R"({"method":"notifications/x"})", "1"));
  CHECK_FALSE(mcp::with_id(R"({"id":{"a":1}})", "1"));
  CHECK_FALSE(mcp::with_id(R"({"id":1.5})", "1"));
  CHECK_FALSE(mcp::with_id(R"([{"id":1}])", "1"));
  CHECK_FALSE(mcp::with_id("not json", "1"));
}

TEST_CASE("mcp::progress_of reads token and value of notifications/progress only") {
  auto p = mcp::progress_of(
      R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t1","progress":3,"total":9}})");
  REQUIRE(p);
  CHECK(p->token == R"("t1")");
  CHECK(p->value == 3);
  p = mcp::progress_of(R"({"params":{"progress":0.5,"progressToken":42},"method":"notifications/progress"})");
  REQUIRE(p);
  CHECK(p->token == "42");
  CHECK(p->value == 0.5);
  CHECK_FALSE(mcp::progress_of(R"({"method":"notifications/message","params":{"progressToken":1,"progress":1}})"));
  CHECK_FALSE(mcp::progress_of(R"({"method":"notifications/progress","params":{"progress":1}})"));
  CHECK_FALSE(mcp::progress_of(R"({"method":"notifications/progress"})"));
}

TEST_CASE("mcp::tool_name, mcp::method_of and mcp::tool_safety") {
  CHECK(mcp::tool_name(R"({"id":1,"method":"tools/call","params":{"name":"search","arguments":{}}})") == "search");
  CHECK_FALSE(mcp::tool_name(R"({"id":1,"method":"tools/call","params":{}})"));
  CHECK(mcp::method_of(R"({"jsonrpc":"2.0","method":"notifications/subscriptions/acknowledged"})") ==
        "notifications/subscriptions/acknowledged");
  CHECK_FALSE(mcp::method_of(R"({"id":1,"result":{}})"));
  const auto tools = mcp::tool_safety(
      R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"name":"b","annotations":{"readOnlyHint":true}},)"
      R"({"annotations":{"idempotentHint":true,"readOnlyHint":false},"name":"c"},)"
      R"({"name":"d","annotations":{"destructiveHint":true,"readOnlyHint":"yes"}}]}})");
  REQUIRE(tools.size() == 4);
  CHECK((tools[0].name == "a" && !tools[0].safe));
  CHECK((tools[1].name == "b" && tools[1].safe));
  CHECK((tools[2].name == "c" && tools[2].safe));
  CHECK((tools[3].name == "d" && !tools[3].safe));  // only a JSON true counts
  CHECK(mcp::tool_safety(R"({"jsonrpc":"2.0","id":1,"result":{}})").empty());
  CHECK(mcp::tool_safety("garbage").empty());
}

TEST_SUITE_END();
