#include <doctest/doctest.h>

#include "core/proxy/reinit.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::says_unknown_session: the answers of servers that forgot the session") {
  // The TypeScript and Python SDKs, and a bare 404 (MCP: the session was terminated).
  CHECK(proxy::says_unknown_session(404, R"({"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null})"));
  CHECK(proxy::says_unknown_session(404, ""));
  CHECK(proxy::says_unknown_session(404, "\r\n"));
  // The SDK's example servers.
  CHECK(proxy::says_unknown_session(400, R"({"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null})"));
  CHECK(proxy::says_unknown_session(400, "MCP-SESSION-ID unknown"));
  // Refusals of something else: a resume the server cannot serve, a malformed request.
  CHECK_FALSE(proxy::says_unknown_session(400, R"({"jsonrpc":"2.0","error":{"code":-32000,"message":"Invalid event ID"},"id":null})"));
  CHECK_FALSE(proxy::says_unknown_session(400, ""));
  CHECK_FALSE(proxy::says_unknown_session(404, "no such event"));
  CHECK_FALSE(proxy::says_unknown_session(409, "Conflict: Only one SSE stream is allowed per session"));
  CHECK_FALSE(proxy::says_unknown_session(500, "session store down"));
}

TEST_SUITE_END();
