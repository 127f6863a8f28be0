#include <doctest/doctest.h>

#include "core/proxy/access.h"

using namespace ssestitch;

namespace {

proxy::Config listening_on(const char* address) {
  proxy::Config c;
  auto a = net::parse_listen_address(address);
  REQUIRE(a);
  c.listen = *a;
  return c;
}

}  // namespace

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::is_loopback_name") {
  for (const char* yes : {"localhost", "LOCALHOST", "app.localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"}) {
    CHECK_MESSAGE(proxy::is_loopback_name(yes), yes);
  }
  for (const char* no : {"", "localhost.example.com", "128.0.0.1", "10.0.0.1", "0.0.0.0", "::", "evil.example",
                         "127.0.0.1.evil.example"}) {
    CHECK_MESSAGE(!proxy::is_loopback_name(no), no);
  }
}

TEST_CASE("proxy::origin_allowed: own and loopback origins on a loopback listener, else only as allowed") {
  proxy::Config c = listening_on("127.0.0.1:8080");
  CHECK(proxy::origin_allowed(c, "http://127.0.0.1:8080"));  // our own origin
  CHECK(proxy::origin_allowed(c, "http://localhost:6274"));  // a local tool (MCP Inspector)
  CHECK(proxy::origin_allowed(c, "https://[::1]:9"));
  CHECK(proxy::origin_allowed(c, "http://127.0.0.1"));
  CHECK_FALSE(proxy::origin_allowed(c, "http://evil.example"));
  CHECK_FALSE(proxy::origin_allowed(c, "http://127.0.0.1.evil.example"));
  CHECK_FALSE(proxy::origin_allowed(c, "null"));
  CHECK_FALSE(proxy::origin_allowed(c, "file://localhost"));
  CHECK_FALSE(proxy::origin_allowed(c, "http://localhost:1/path"));
  c.allow_origins = {"http://good.example"};
  CHECK(proxy::origin_allowed(c, "http://good.example"));
  CHECK_FALSE(proxy::origin_allowed(c, "http://good.example:81"));
  c.allow_origins = {"*"};
  CHECK(proxy::origin_allowed(c, "http://evil.example"));

  // On every interface the proxy is not local: loopback origins are not trusted for it,
  // only its own origin and the allowed ones.
  proxy::Config wide = listening_on("0.0.0.0:8080");
  CHECK(proxy::origin_allowed(wide, "http://0.0.0.0:8080"));
  CHECK_FALSE(proxy::origin_allowed(wide, "http://localhost:6274"));
}

TEST_CASE("proxy::host_allowed: DNS-rebinding protection on a loopback listener") {
  proxy::Config c = listening_on("127.0.0.1:8080");
  for (const char* yes : {"127.0.0.1:8080", "localhost:8080", "localhost", "[::1]:8080", "127.0.0.1"}) {
    CHECK_MESSAGE(proxy::host_allowed(c, std::string_view(yes)), yes);
  }
  CHECK(proxy::host_allowed(c, std::nullopt));  // HTTP/1.0 without Host
  for (const char* no : {"evil.example", "evil.example:8080", "x", "", "[::1", "::1:8080"}) {
    CHECK_MESSAGE(!proxy::host_allowed(c, std::string_view(no)), no);
  }
  c.allow_hosts = {"mcp.internal"};
  CHECK(proxy::host_allowed(c, std::string_view("mcp.internal:8080")));
  CHECK(proxy::host_allowed(c, std::string_view("MCP.internal")));
  CHECK_FALSE(proxy::host_allowed(c, std::string_view("evil.example")));
  c.allow_hosts = {"*"};
  CHECK(proxy::host_allowed(c, std::string_view("evil.example")));
  // Not on loopback: the proxy cannot know its names; no check.
  CHECK(proxy::host_allowed(listening_on("0.0.0.0:8080"), std::string_view("evil.example")));
}

TEST_SUITE_END();
