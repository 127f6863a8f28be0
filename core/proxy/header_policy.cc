#include "core/proxy/header_policy.h"

#include <array>
#include <string>

namespace ssestitch::proxy {
namespace {

constexpr std::array<std::string_view, 9> k_hop_by_hop = {
    "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
    "TE", "Trailer", "Transfer-Encoding", "Upgrade"};

bool listed_in_connection(const net::Headers& headers, std::string_view name) {
  // "Connection: close, X-Foo" makes X-Foo hop-by-hop too.
  for (const net::Header& h : headers.all()) {
    if (!net::iequals(h.name, "Connection")) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      const auto comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
      while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
      if (net::iequals(token, name)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool is_hop_by_hop(const net::Headers& all, std::string_view name) {
  for (std::string_view h : k_hop_by_hop) {
    if (net::iequals(h, name)) return true;
  }
  return listed_in_connection(all, name);
}

}  // namespace

net::Headers upstream_request_headers(const net::Headers& client, bool strip_authorization) {
  static constexpr std::array<std::string_view, 6> k_owned = {
      "Host", "Content-Length", "Expect", "Accept-Encoding", "Last-Event-ID", "Mcp-Session-Id"};
  net::Headers out;
  for (const net::Header& h : client.all()) {
    if (is_hop_by_hop(client, h.name)) continue;
    bool owned = false;
    for (std::string_view o : k_owned) owned = owned || net::iequals(o, h.name);
    if (owned) continue;
    if (strip_authorization && net::iequals(h.name, "Authorization")) continue;
    out.add(h.name, h.value);
  }
  return out;
}

net::Headers client_response_headers(const net::Headers& upstream, bool sse) {
  net::Headers out;
  for (const net::Header& h : upstream.all()) {
    if (is_hop_by_hop(upstream, h.name)) continue;
    if (net::iequals(h.name, "Content-Length") || net::iequals(h.name, "Mcp-Session-Id")) continue;
    if (sse && (net::iequals(h.name, "Cache-Control") || net::iequals(h.name, "X-Accel-Buffering"))) continue;
    out.add(h.name, h.value);
  }
  if (sse) {
    out.add("Cache-Control", "no-cache");
    out.add("X-Accel-Buffering", "no");
  }
  return out;
}

net::Headers sse_response_headers() {
  net::Headers out;
  out.add("Content-Type", "text/event-stream");
  out.add("Cache-Control", "no-cache");
  out.add("X-Accel-Buffering", "no");
  return out;
}

}  // namespace ssestitch::proxy
