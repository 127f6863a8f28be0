#include "core/store/redis_connection.h"

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/time.h>

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

timeval to_timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

}  // namespace

std::string Address::display() const {
  std::string s;
  if (!unix_path.empty()) {
    s.append("unix://").append(unix_path);
    if (db != 0) s.append("?db=").append(std::to_string(db));
  } else {
    s.append("redis://");
    if (host.find(':') != std::string::npos) {
      s.append("[").append(host).append("]");
    } else {
      s.append(host);
    }
    s.append(":").append(std::to_string(port));
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
    std::string_view port;
    if (!hostport.empty() && hostport.front() == '[') {
      const std::size_t close = hostport.find(']');
      if (close == std::string_view::npos) return bad(url, "unclosed '[' in the host");
      a.host = std::string(hostport.substr(1, close - 1));
      const std::string_view after = hostport.substr(close + 1);
      if (!after.empty()) {
        if (after.front() != ':') return bad(url, "expected ':PORT' after ']'");
        port = after.substr(1);
        if (port.empty()) return bad(url, "empty PORT");
      }
    } else {
      const std::size_t colon = hostport.rfind(':');
      a.host = std::string(hostport.substr(0, colon));
      if (colon != std::string_view::npos) {
        port = hostport.substr(colon + 1);
        if (port.empty()) return bad(url, "empty PORT");
      }
    }
    if (a.host.empty()) return bad(url, "no HOST");
    if (!port.empty() && !parse_int(port, 1, 65535, a.port)) return bad(url, "PORT must be 1..65535");
  }
  if (auto r = parse_query(url, query, unix_socket, a); !r) return std::move(r).error();
  return a;
}

void ReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }

bool is_error(const redisReply* r) noexcept { return r != nullptr && r->type == REDIS_REPLY_ERROR; }

util::Result<void> check(const redisReply* r, const std::string& where) {
  if (!is_error(r)) return util::ok();
  const std::string_view t = text(r);
  const Errc code = t.rfind("OOM", 0) == 0       ? Errc::store_full
                    : t.rfind("FENCED ", 0) == 0 ? Errc::store_locked
                                                 : Errc::store_unavailable;
  std::string m = "redis ";
  m.append(where).append(": ").append(t);
  return util::fail(code, std::move(m));
}
bool is_nil(const redisReply* r) noexcept { return r == nullptr || r->type == REDIS_REPLY_NIL; }

std::string_view text(const redisReply* r) noexcept {
  if (r == nullptr) return {};
  if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR) return {};
  return std::string_view(r->str, r->len);
}

std::int64_t integer(const redisReply* r) noexcept {
  if (r == nullptr) return 0;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type != REDIS_REPLY_STRING) return 0;
  std::int64_t v = 0;
  std::from_chars(r->str, r->str + r->len, v);
  return v;
}

std::size_t elements(const redisReply* r) noexcept {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

const redisReply* element(const redisReply* r, std::size_t i) noexcept {
  return i < elements(r) ? r->element[i] : nullptr;
}

void Connection::ContextDeleter::operator()(redisContext* c) const noexcept { redisFree(c); }

Connection::Connection(std::unique_ptr<redisContext, ContextDeleter> c, std::string where)
    : m_ctx(std::move(c)), m_where(std::move(where)) {}

Connection::~Connection() = default;

util::Result<Connection> Connection::open(const Address& address, int timeout_ms) {
  // hiredis write()s to its socket: a server that went away must not end the process with
  // SIGPIPE (the proxy's loop ignores it already; inspect, replay and tests may not).
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  const timeval tv = to_timeval(timeout_ms);
  std::unique_ptr<redisContext, ContextDeleter> c(
      address.unix_path.empty() ? redisConnectWithTimeout(address.host.c_str(), address.port, tv)
                                : redisConnectUnixWithTimeout(address.unix_path.c_str(), tv));
  Connection conn(std::move(c), address.display());
  if (!conn.m_ctx) return util::fail(Errc::store_unavailable, "redis " + conn.m_where + ": out of memory");
  if (conn.m_ctx->err != 0) return conn.failure("connect");
  if (redisSetTimeout(conn.m_ctx.get(), tv) != REDIS_OK) return conn.failure("set timeout");
  if (address.unix_path.empty()) redisEnableKeepAlive(conn.m_ctx.get());
  if (address.db != 0) {
    const std::string db = std::to_string(address.db);
    auto r = conn.command({"SELECT", db});
    if (!r) return std::move(r).error();
    if (is_error(r->get())) {
      return util::fail(Errc::store_unavailable, "redis " + conn.m_where + ": SELECT " + db + ": " + std::string(text(r->get())));
    }
  }
  return conn;
}

void Connection::append(const std::vector<std::string_view>& argv) {
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (std::string_view a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(m_ctx.get(), static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

util::Result<Reply> Connection::reply() {
  void* raw = nullptr;
  if (m_ctx->err != 0 || redisGetReply(m_ctx.get(), &raw) != REDIS_OK || raw == nullptr) {
    if (raw != nullptr) freeReplyObject(raw);
    return failure("command");
  }
  return Reply(static_cast<redisReply*>(raw));
}

util::Result<Reply> Connection::command(const std::vector<std::string_view>& argv) {
  append(argv);
  return reply();
}

bool Connection::broken() const noexcept { return m_ctx->err != 0; }

util::Error Connection::failure(const char* what) const {
  std::string m = "redis ";
  m.append(m_where).append(": ").append(what).append(": ");
  m.append(m_ctx->err != 0 ? m_ctx->errstr : "no reply");
  return util::fail(Errc::store_unavailable, std::move(m));
}

}  // namespace ssestitch::store::redis
