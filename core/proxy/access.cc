#include "core/proxy/access.h"

#include <algorithm>
#include <arpa/inet.h>

#include <string>

#include "core/net/headers.h"

namespace ssestitch::proxy {
namespace {

// `host[:port]` or `[v6]:port` without its port; "" when malformed.
std::string_view strip_port(std::string_view authority) {
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return {};
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || rest.size() == 1)) return {};
    return authority.substr(0, close + 1);
  }
  const auto colon = authority.find(':');
  if (colon == std::string_view::npos) return authority;
  if (authority.find(':', colon + 1) != std::string_view::npos) return {};  // bare IPv6: not a Host
  return authority.substr(0, colon);
}

bool allowed_by(const std::vector<std::string>& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(), [&](const std::string& a) { return a == "*" || net::iequals(a, value); });
}

}  // namespace

bool is_loopback_name(std::string_view host) {
  if (net::iequals(host, "localhost") || host == "::1" || host == "[::1]") return true;
  if (host.size() > 10 && net::iequals(host.substr(host.size() - 10), ".localhost")) return true;
  in_addr v4{};
  const std::string text(host);
  return inet_pton(AF_INET, text.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

bool origin_allowed(const Config& config, std::string_view origin) {
  if (allowed_by(config.allow_origins, origin)) return true;
  // "scheme://host[:port]" (browsers send no path); "null" and anything else is foreign.
  const auto sep = origin.find("://");
  if (sep == std::string_view::npos) return false;
  const std::string_view scheme = origin.substr(0, sep);
  if (!net::iequals(scheme, "http") && !net::iequals(scheme, "https")) return false;
  const std::string_view authority = origin.substr(sep + 3);
  if (authority.find('/') != std::string_view::npos) return false;
  if (net::iequals(authority, config.listen.to_string())) return true;  // our own origin
  const std::string_view host = strip_port(authority);
  return config.listen.is_loopback() && !host.empty() && is_loopback_name(host);
}

bool host_allowed(const Config& config, std::optional<std::string_view> host) {
  if (!config.listen.is_loopback()) return true;
  if (!host) return true;  // HTTP/1.0 without Host: no name to rebind
  if (allowed_by(config.allow_hosts, *host)) return true;
  const std::string_view name = strip_port(*host);
  return !name.empty() && (is_loopback_name(name) || allowed_by(config.allow_hosts, name));
}

}  // namespace ssestitch::proxy
