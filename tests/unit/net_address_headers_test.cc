#include <doctest/doctest.h>

#include "core/net/address.h"
#include "core/net/headers.h"

using namespace ssestitch;

TEST_SUITE_BEGIN("net");

TEST_CASE("net::parse_listen_address") {
  auto a = net::parse_listen_address("127.0.0.1:8080");
  REQUIRE(a);
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 8080);
  CHECK(a->is_loopback());
  CHECK(a->to_string() == "127.0.0.1:8080");

  auto v6 = net::parse_listen_address("[::1]:9");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->is_loopback());
  CHECK(v6->to_string() == "[::1]:9");

  auto bare = net::parse_listen_address(":0");
  REQUIRE(bare);
  CHECK(bare->host == "127.0.0.1");  // no host: loopback, never every interface
  CHECK(bare->port == 0);
  CHECK(net::parse_listen_address("localhost:80")->host == "127.0.0.1");
  CHECK_FALSE(net::parse_listen_address("0.0.0.0:80")->is_loopback());

  for (const char* bad : {"8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x", "::1:80",
                          "[::1]80", "example.com:80"}) {
    auto r = net::parse_listen_address(bad);
    REQUIRE_MESSAGE(!r, bad);
    CHECK(r.error().code == util::Errc::invalid_argument);
    CHECK(r.error().message.find(std::string("\"") + bad + "\"") != std::string::npos);  // quotes the input
  }
}

TEST_CASE("net::parse_http_url") {
  auto u = net::parse_http_url("http://127.0.0.1:3000/mcp");
  REQUIRE(u);
  CHECK(u->scheme == "http");
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 3000);
  CHECK(u->path == "/mcp");
  CHECK(u->origin() == "http://127.0.0.1:3000");
  auto tls = net::parse_http_url("https://[::1]");
  REQUIRE(tls);
  CHECK(tls->port == 443);
  CHECK(tls->path == "/");
  CHECK(tls->origin() == "https://[::1]:443");
  for (const char* bad : {"ftp://x/", "http://user:pw@host/", "http://host/#frag", "http://", "127.0.0.1:3000"}) {
    auto r = net::parse_http_url(bad);
    REQUIRE_MESSAGE(!r, bad);
    CHECK(r.error().code == util::Errc::invalid_argument);
  }
}

TEST_CASE("net::Headers") {
  net::Headers h;
  h.add("Accept", "a");
  h.add("accept", "b");
  h.add("X-One", "1");
  CHECK(h.get("ACCEPT") == "a");  // the first, whatever the case
  CHECK(h.all().size() == 3);
  h.set("Accept", "c");
  CHECK(h.get("accept") == "c");
  CHECK(h.all().size() == 2);
  h.remove("x-one");
  CHECK_FALSE(h.has("X-One"));
  CHECK(net::iequals("Content-Type", "content-type"));
  CHECK_FALSE(net::iequals("Content-Type", "Content-Typ"));
}

TEST_CASE("net::is_safe_header_value and media_type_is") {
  CHECK(net::is_safe_header_value("Bearer abc\tdef"));
  CHECK_FALSE(net::is_safe_header_value("a\r\nInjected: 1"));
  CHECK_FALSE(net::is_safe_header_value(std::string_view("a\0b", 3)));
  CHECK_FALSE(net::is_safe_header_value("a\x01"));
  CHECK(net::media_type_is("text/event-stream", "text/event-stream"));
  CHECK(net::media_type_is("Text/Event-Stream; charset=utf-8", "text/event-stream"));
  CHECK_FALSE(net::media_type_is("text/event-streams", "text/event-stream"));
  CHECK_FALSE(net::media_type_is("application/json", "text/event-stream"));
}

TEST_SUITE_END();
