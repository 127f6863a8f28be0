#include <doctest/doctest.h>

#include "core/proxy/header_policy.h"

using namespace ssestitch;

namespace {

net::Headers headers(std::initializer_list<std::pair<const char*, const char*>> fields) {
  net::Headers h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return h;
}

}  // namespace

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::upstream_request_headers") {
  const net::Headers client = headers({{"Host", "proxy:8080"},
                                       {"Connection", "keep-alive, X-Private"},
                                       {"X-Private", "hop"},
                                       {"Keep-Alive", "timeout=5"},
                                       {"TE", "trailers"},
                                       {"Upgrade", "h2c"},
                                       {"Proxy-Authorization", "Basic eA=="},
                                       {"Content-Length", "10"},
                                       {"Expect", "100-continue"},
                                       {"Accept-Encoding", "gzip"},
                                       {"Last-Event-ID", "3-7"},
                                       {"Mcp-Session-Id", "ours"},
                                       {"Authorization", "Bearer user"},
                                       {"Cookie", "a=b"},
                                       {"Accept", "application/json, text/event-stream"},
                                       {"MCP-Protocol-Version", "2025-11-25"}});
  SUBCASE("hop-by-hop, owned and Connection-listed fields are dropped; credentials pass") {
    const net::Headers out = proxy::upstream_request_headers(client, false);
    for (const char* gone : {"Host", "Connection", "X-Private", "Keep-Alive", "TE", "Upgrade", "Proxy-Authorization",
                             "Content-Length", "Expect", "Accept-Encoding", "Last-Event-ID", "Mcp-Session-Id"}) {
      CHECK_MESSAGE(!out.get(gone), gone);
    }
    CHECK(out.get("Authorization") == "Bearer user");
    CHECK(out.get("Cookie") == "a=b");
    CHECK(out.get("accept") == "application/json, text/event-stream");  // names are case-insensitive
    CHECK(out.get("MCP-Protocol-Version") == "2025-11-25");
    CHECK(out.all().size() == 4);
  }
  SUBCASE("the proxy's own token is not passed on") {
    const net::Headers out = proxy::upstream_request_headers(client, true);
    CHECK_FALSE(out.get("Authorization"));
    CHECK(out.get("Cookie") == "a=b");
  }
}

TEST_CASE("proxy::client_response_headers") {
  const net::Headers upstream = headers({{"Content-Type", "text/event-stream"},
                                         {"Content-Length", "99"},
                                         {"Transfer-Encoding", "chunked"},
                                         {"Connection", "close"},
                                         {"Mcp-Session-Id", "upstream-id"},
                                         {"Cache-Control", "max-age=60"},
                                         {"X-Request-Id", "r1"}});
  SUBCASE("SSE: framing and session fields dropped, anti-buffering set") {
    const net::Headers out = proxy::client_response_headers(upstream, true);
    CHECK_FALSE(out.get("Content-Length"));
    CHECK_FALSE(out.get("Transfer-Encoding"));
    CHECK_FALSE(out.get("Connection"));
    CHECK_FALSE(out.get("Mcp-Session-Id"));
    CHECK(out.get("Cache-Control") == "no-cache");
    CHECK(out.get("X-Accel-Buffering") == "no");
    CHECK(out.get("X-Request-Id") == "r1");
    CHECK(out.get("Content-Type") == "text/event-stream");
  }
  SUBCASE("not SSE: the upstream's caching is kept") {
    const net::Headers out = proxy::client_response_headers(upstream, false);
    CHECK(out.get("Cache-Control") == "max-age=60");
    CHECK_FALSE(out.get("X-Accel-Buffering"));
  }
  SUBCASE("the proxy's own SSE responses") {
    const net::Headers out = proxy::sse_response_headers();
    CHECK(out.get("Content-Type") == "text/event-stream");
    CHECK(out.get("Cache-Control") == "no-cache");
    CHECK(out.get("X-Accel-Buffering") == "no");
  }
}

TEST_SUITE_END();
