#pragma once
// Listen addresses given on the command line: "HOST:PORT", "[IPV6]:PORT" or ":PORT" (loopback).
// Only numeric hosts and "localhost" are accepted, so parsing never blocks on DNS.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace ssestitch::net {

struct ListenAddress {
  std::string host;     // numeric IPv4 or IPv6, without brackets
  std::uint16_t port = 0;  // 0: let the OS choose (tests)
  bool is_loopback() const noexcept;
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;
};

// Errors: invalid_argument with a message quoting the input.
util::Result<ListenAddress> parse_listen_address(std::string_view text);

}  // namespace ssestitch::net

namespace ssestitch::net {

// An upstream URL: "http(s)://host[:port][/path][?query]". Userinfo is refused (credentials
// belong in headers, which are never logged); fragments are refused.
struct HttpUrl {
  std::string scheme;     // "http" or "https"
  std::string host;       // as written (IPv6 keeps its brackets)
  std::uint16_t port = 0; // explicit or the scheme's default
  std::string path;       // "/" when absent; no query
  // "http://host:port" (no path): requests go to origin() + client target.
  std::string origin() const;
};

util::Result<HttpUrl> parse_http_url(std::string_view text);

}  // namespace ssestitch::net
