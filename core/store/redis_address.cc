#include "core/store/redis_address.h"

#include <charconv>

namespace ssestitch::store::redis {

using util::Errc;

namespace {

bool parse_int(std::string_view s, int lo, int hi, int& out) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

util::Error bad(std::string_view url, const std::string& why) {
  std::string m(url);
  m.append(": ").append(why);
  return util::fail(Errc::invalid_argument, std::move(m));
}

// `?a=b&c=d`: db (unix:// only) and prefix.
util::Result<void> parse_query(std::string_view url, std::string_view q, bool allow_db, Address& a) {
  while (!q.empty()) {
    const std::size_t amp = q.find('&');
    const std::string_view kv = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    const std::size_t eq = kv.find('=');
    const std::string_view key = kv.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1);
    if (key == "prefix") {
      if (value.empty() || value.size() > 64 || value.find_first_of("{}: ") != std::string_view::npos) {
        return bad(url, "prefix must be 1..64 characters without '{', '}', ':' or spaces");
      }
      a.prefix = std::string(value);
    } else if (key == "db" && allow_db) {
      if (!parse_int(value, 0, 1'000'000, a.db)) return bad(url, "db must be a number");
    } else {
      return bad(url, "unknown parameter '" + std::string(key) + "' (known: prefix" + (allow_db ? ", db)" : ")"));
    }
  }
  return util::ok();
}

// `HOST[:PORT]` or `[V6]:PORT` (port 6379 when absent).
util::Result<NodeAddress> parse_node(std::string_view url, std::string_view hostport) {
  NodeAddress n{{}, 6379};
  std::string_view port;
  if (!hostport.empty() && hostport.front() == '[') {
    const std::size_t close = hostport.find(']');
    if (close == std::string_view::npos) return bad(url, "unclosed '[' in the host");
    n.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(url, "expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) return bad(url, "empty PORT");
    }
  } else {
    const std::size_t colon = hostport.rfind(':');
    n.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return bad(url, "empty PORT");
    }
  }
  if (n.host.empty()) return bad(url, "no HOST");
  if (!port.empty() && !parse_int(port, 1, 65535, n.port)) return bad(url, "PORT must be 1..65535");
  return n;
}

void append_node(std::string& s, const std::string& host, int port) {
  if (host.find(':') != std::string::npos) {
    s.append("[").append(host).append("]");
  } else {
    s.append(host);
  }
  s.append(":").append(std::to_string(port));
}

}  // namespace

std::string Address::display() const {
  std::string s;
  if (!unix_path.empty()) {
    s.append("unix://").append(unix_path);
    if (db != 0) s.append("?db=").append(std::to_string(db));
  } else {
    s.append("redis://");
    append_node(s, host, port);
    for (const NodeAddress& n : more) append_node(s.append(","), n.host, n.port);
    if (db != 0) s.append("/").append(std::to_string(db));
  }
  if (prefix != "ssestitch") s.append(unix_path.empty() || db == 0 ? "?" : "&").append("prefix=").append(prefix);
  return s;
}

bool is_url(std::string_view s) noexcept { return s.rfind("redis://", 0) == 0 || s.rfind("unix://", 0) == 0; }

util::Result<Address> parse_url(std::string_view url) {
  Address a;
  std::string_view rest;
  const bool unix_socket = url.rfind("unix://", 0) == 0;
  if (unix_socket) {
    rest = url.substr(7);
  } else if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return bad(url, "a Redis store is redis://HOST[:PORT][/DB] or unix:///PATH");
  }
  const std::size_t qm = rest.find('?');
  const std::string_view query = qm == std::string_view::npos ? std::string_view() : rest.substr(qm + 1);
  rest = rest.substr(0, qm);
  if (unix_socket) {
    if (rest.empty() || rest.front() != '/') return bad(url, "unix:// needs an absolute socket path (unix:///run/redis.sock)");
    a.unix_path = std::string(rest);
    a.port = 0;
  } else {
    if (rest.find('@') != std::string_view::npos) return bad(url, "credentials in the URL are not supported");
    const std::size_t slash = rest.find('/');
    std::string_view hostport = rest.substr(0, slash);
    if (slash != std::string_view::npos) {
      const std::string_view db = rest.substr(slash + 1);
      if (!db.empty() && !parse_int(db, 0, 1'000'000, a.db)) return bad(url, "DB must be a number");
    }
    for (bool first = true; first || !hostport.empty(); first = false) {
      const std::size_t comma = hostport.find(',');
      auto node = parse_node(url, hostport.substr(0, comma));
      if (!node) return std::move(node).error();
      if (first) {
        a.host = std::move(node->host);
        a.port = node->port;
      } else {
        if (a.more.size() >= 15) return bad(url, "at most 16 nodes");
        a.more.push_back(std::move(*node));
      }
      hostport = comma == std::string_view::npos ? std::string_view() : hostport.substr(comma + 1);
      if (comma != std::string_view::npos && hostport.empty()) return bad(url, "no HOST after ','");
    }
  }
  if (auto r = parse_query(url, query, unix_socket, a); !r) return std::move(r).error();
  return a;
}

}  // namespace ssestitch::store::redis
