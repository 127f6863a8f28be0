#include "core/net/address.h"

#include <arpa/inet.h>
#include <charconv>

namespace ssestitch::net {

bool ListenAddress::is_loopback() const noexcept {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return host == "::1";
}

std::string ListenAddress::to_string() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

util::Result<ListenAddress> parse_listen_address(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return util::fail(util::Errc::invalid_argument,
                      "invalid address \"" + std::string(text) + "\": " + std::string(why));
  };
  ListenAddress out;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("expected [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("expected HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("IPv6 hosts need brackets, as in [::1]:8080");
  }
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || p != port.data() + port.size() || value > 65535) {
    return bad("port must be a number from 0 to 65535");
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, out.host.c_str(), &v4) != 1 && inet_pton(AF_INET6, out.host.c_str(), &v6) != 1) {
    return bad("host must be a numeric IP address or localhost");
  }
  return out;
}

}  // namespace ssestitch::net

namespace ssestitch::net {

std::string HttpUrl::origin() const { return scheme + "://" + host + ":" + std::to_string(port); }

util::Result<HttpUrl> parse_http_url(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return util::fail(util::Errc::invalid_argument, "invalid URL \"" + std::string(text) + "\": " + std::string(why));
  };
  HttpUrl url;
  std::string_view rest = text;
  if (rest.starts_with("http://")) {
    url.scheme = "http";
    url.port = 80;
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    url.scheme = "https";
    url.port = 443;
    rest.remove_prefix(8);
  } else {
    return bad("expected http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return bad("fragments are not allowed");
  const auto slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    return bad("credentials in the URL are not allowed; use headers");
  }
  if (authority.empty()) return bad("missing host");
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed [ in host");
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("expected : after ]");
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("missing host");
  if (!port.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535) {
      return bad("port must be a number from 1 to 65535");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  url.host = std::string(host);
  if (path.front() == '?') path = "/";
  url.path = std::string(path.substr(0, path.find('?')));
  return url;
}

}  // namespace ssestitch::net
