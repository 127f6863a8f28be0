#include <doctest/doctest.h>

#include <string>

#include "core/mcp/message.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("mcp");

TEST_CASE("mcp::era_of") {
  CHECK(mcp::era_of("") == mcp::Era::sessions);
  CHECK(mcp::era_of("2025-03-26") == mcp::Era::sessions);
  CHECK(mcp::era_of("2025-11-25") == mcp::Era::sessions);
  CHECK(mcp::era_of("2026-07-28") == mcp::Era::stateless);
  CHECK(mcp::era_of("2027-01-01") == mcp::Era::stateless);
  CHECK(mcp::era_of("garbage") == mcp::Era::sessions);
  CHECK(mcp::era_of("2026-7-28") == mcp::Era::sessions);
}

TEST_CASE("mcp::classify_post") {
  SUBCASE("initialize request") {
    auto r = mcp::classify_post(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
        R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    REQUIRE(r);
    CHECK_FALSE(r->batch);
    CHECK(r->has_initialize());
    CHECK_FALSE(r->has_initialized());
    CHECK(r->request_ids() == std::vector<std::string>{"0"});
  }
  SUBCASE("field order does not matter") {
    auto r = mcp::classify_post(R"({"method":"tools/call","params":{"name":"x","_meta":{"progressToken":1}},"id":"abc","jsonrpc":"2.0"})");
    REQUIRE(r);
    CHECK(r->messages[0].kind == mcp::Kind::request);
    CHECK(r->messages[0].method == "tools/call");
    CHECK(r->request_ids() == std::vector<std::string>{"\"abc\""});
  }
  SUBCASE("notifications and responses have no request ids") {
    auto n = mcp::classify_post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    REQUIRE(n);
    CHECK(n->messages[0].kind == mcp::Kind::notification);
    CHECK(n->request_ids().empty());
    CHECK(n->has_initialized());
    CHECK_FALSE(n->has_initialize());
    CHECK_FALSE(mcp::classify_post(R"({"jsonrpc":"2.0","id":1,"method":"notifications/initialized"})")->has_initialized());
    auto resp = mcp::classify_post(R"({"jsonrpc":"2.0","id":5,"result":{}})");
    REQUIRE(resp);
    CHECK(resp->messages[0].kind == mcp::Kind::response);
    CHECK(resp->messages[0].id == "5");
  }
  SUBCASE("batches (2025-03-26)") {
    auto r = mcp::classify_post(
        R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":"b","method":"tools/list"}])");
    REQUIRE(r);
    CHECK(r->batch);
    CHECK(r->request_ids() == std::vector<std::string>{"1", "\"b\""});
  }
  SUBCASE("canonical ids: escapes, negative and large integers") {
    CHECK(mcp::classify_post(R"({"jsonrpc":"2.0","id":"\u0061","method":"m"})")->request_ids()[0] == "\"a\"");
    CHECK(mcp::classify_post(R"({"jsonrpc":"2.0","id":-3,"method":"m"})")->request_ids()[0] == "-3");
    CHECK(mcp::classify_post(R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"m"})")->request_ids()[0] ==
          "18446744073709551615");
    CHECK(mcp::classify_post(R"({"jsonrpc":"2.0","id":"q\"x","method":"m"})")->request_ids()[0] == "\"q\\\"x\"");
  }
  SUBCASE("invalid JSON") {
    for (const char* bad : {"", "{", "{\"jsonrpc\":\"2.0\",}", "\xEF\xBB\xBF{}", "{} x", "nul"}) {
      auto r = mcp::classify_post(bad);
      REQUIRE_FALSE(r);
      CHECK_MESSAGE(r.error().code == util::Errc::json_invalid, bad);
    }
  }
  SUBCASE("JSON that is not JSON-RPC") {
    auto check = [](const char* body, const char* message) {
      auto r = mcp::classify_post(body);
      REQUIRE_FALSE(r);
      CHECK(r.error().code == util::Errc::not_jsonrpc);
      CHECK(r.error().message == message);
    };
    check("[]", "not JSON-RPC: empty batch");
    check("42", "not JSON-RPC: the body is neither an object nor an array");
    check(R"({"id":1,"method":"m"})", "not JSON-RPC: the message has no \"jsonrpc\":\"2.0\"");
    check(R"([{"jsonrpc":"2.0","method":"m"},{"id":1,"method":"m"}])",
          "not JSON-RPC: message 2 of the batch has no \"jsonrpc\":\"2.0\"");
    check(R"([1])", "not JSON-RPC: message 1 of the batch is not an object");
    check(R"({"jsonrpc":"2.0","id":1.5,"method":"m"})",
          "not JSON-RPC: the message has an id that is not a string or a 64-bit integer");
    check(R"({"jsonrpc":"2.0","id":18446744073709551616,"method":"m"})",
          "not JSON-RPC: the message has an id that is not a string or a 64-bit integer");
    check(R"({"jsonrpc":"2.0","id":{},"method":"m"})",
          "not JSON-RPC: the message has an id that is not a string or a 64-bit integer");
    check(R"({"jsonrpc":"2.0","id":1})", "not JSON-RPC: the message has neither a method nor exactly one of result and error");
  }
  SUBCASE("deeply nested params neither crash nor stop classification") {
    // The proxy is not a validator: params it does not read are skipped, however deep.
    std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"m","params":)" + std::string(10000, '[') + std::string(10000, ']') + "}";
    auto r = mcp::classify_post(deep);
    REQUIRE(r);
    CHECK(r->request_ids() == std::vector<std::string>{"1"});
    auto unbalanced = mcp::classify_post(R"({"jsonrpc":"2.0","id":1,"method":"m","params":)" + std::string(10000, '[') + "}");
    REQUIRE_FALSE(unbalanced);
    CHECK(unbalanced.error().code == util::Errc::json_invalid);
  }
  SUBCASE("a 5 MB string parameter") {
    std::string big = R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"x":")" + std::string(5u << 20, 'a') + "\"}}";
    auto r = mcp::classify_post(big);
    REQUIRE(r);
    CHECK(r->request_ids() == std::vector<std::string>{"7"});
  }
}

TEST_CASE("mcp::response_ids") {
  CHECK(mcp::response_ids(R"({"jsonrpc":"2.0","id":3,"result":{"content":[]}})") == std::vector<std::string>{"3"});
  CHECK(mcp::response_ids(R"({"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"x"}})") ==
        std::vector<std::string>{"\"a\""});
  CHECK(mcp::response_ids(R"([{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":2,"result":{}}])") ==
        std::vector<std::string>{"1", "2"});
  CHECK(mcp::response_ids(R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}})").empty());
  CHECK(mcp::response_ids(R"({"jsonrpc":"2.0","method":"x","params":{"result":1}})").empty());
  CHECK(mcp::response_ids("not json \"result\"").empty());
  CHECK(mcp::response_id(R"({"jsonrpc":"2.0","id":9,"result":{}})") == "9");
  CHECK_FALSE(mcp::response_id(""));
}

TEST_CASE("mcp::initialize_result_version and mcp::error_response") {
  CHECK(mcp::initialize_result_version(R"({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-06-18"}})") ==
        "2025-06-18");
  CHECK_FALSE(mcp::initialize_result_version(R"({"jsonrpc":"2.0","id":0,"result":{}})"));
  CHECK(mcp::error_response("7", -32000, "lost \"x\"") ==
        R"({"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"lost \"x\""}})");
  CHECK(mcp::error_response("null", -32001, "Session not found") ==
        R"({"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}})");
}


TEST_CASE("mcp::json_at and json_array_size read responses") {
  const std::string r = R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a"},{"name":"b"}],"capabilities":{"prompts":{}}}})";
  CHECK(mcp::json_at(r, "/result/tools/1/name") == std::optional<std::string>("\"b\""));
  CHECK(mcp::json_at(r, "/result/capabilities/prompts") == std::optional<std::string>("{}"));
  CHECK(mcp::json_at(r, "/id") == std::optional<std::string>("1"));
  CHECK_FALSE(mcp::json_at(r, "/result/resources"));
  CHECK_FALSE(mcp::json_at("not json", "/a"));
  CHECK(mcp::json_array_size(r, "/result/tools") == std::optional<std::size_t>(2));
  CHECK_FALSE(mcp::json_array_size(r, "/result/capabilities"));
  CHECK_FALSE(mcp::json_array_size("[1,", ""));
}

TEST_CASE("mcp::is_retry_safe: only requests that change nothing on the server") {
  for (const char* m : {"ping", "tools/list", "resources/list", "resources/templates/list", "resources/read",
                        "prompts/list", "prompts/get", "completion/complete", "server/discover"}) {
    CHECK(mcp::is_retry_safe(m));
  }
  for (const char* m : {"tools/call", "initialize", "notifications/initialized", "logging/setLevel",
                        "resources/subscribe", "sampling/createMessage", "", "Ping", "tools/list/x"}) {
    CHECK_FALSE(mcp::is_retry_safe(m));
  }
}

TEST_SUITE_END();
