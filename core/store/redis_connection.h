#pragma once
// redis::Connection: one blocking hiredis connection with timeouts, and the redis:// and unix://
// addresses of `--store`. Private to core/store (the only place that includes hiredis.h).
//
// Commands are argument vectors (binary-safe: event data may hold any byte). A caller pipelines
// by append()ing several commands and then taking as many reply()s; command() is both in one.
// An error *reply* (e.g. "WRONGTYPE", "NOSCRIPT") is a Reply like any other and the connection
// stays usable; a transport failure (refused, reset, timeout, protocol error) returns
// store_unavailable, after which the connection is broken() and the owner opens a new one.
// open() sets SIGPIPE to ignored if it was at its default (a write to a server that went away).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.h"

struct redisContext;
struct redisReply;

namespace ssestitch::store::redis {

// Where a RedisStore lives: `redis://HOST[:PORT][/DB][?prefix=NAME]` or
// `unix:///PATH[?db=DB&prefix=NAME]`. HOST is a name or an address (IPv6 in brackets); PORT
// defaults to 6379, DB to 0, the key prefix to "ssestitch" (several proxy fleets may share one
// Redis with different prefixes).
struct Address {
  std::string host;        // empty for unix://
  int port = 6379;
  std::string unix_path;   // empty for redis://
  int db = 0;
  std::string prefix = "ssestitch";
  std::string display() const;  // the URL as the user would write it (no password: none parsed)
};

// True when `s` names a Redis store (redis:// or unix://) rather than a directory.
bool is_url(std::string_view s) noexcept;
// invalid_argument with the reason ("--store redis://...: PORT must be 1..65535").
util::Result<Address> parse_url(std::string_view url);

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reading replies (all tolerate a null reply and the wrong type: they return the empty value).
bool is_error(const redisReply* r) noexcept;
// An error reply as an error: store_full for OOM (Redis at maxmemory), store_locked for our
// append script's FENCED, store_unavailable for any other ("redis WHERE: ERRORTEXT").
util::Result<void> check(const redisReply* r, const std::string& where);
bool is_nil(const redisReply* r) noexcept;
std::string_view text(const redisReply* r) noexcept;     // string, status or error text
std::int64_t integer(const redisReply* r) noexcept;      // an integer, or a string of digits
std::size_t elements(const redisReply* r) noexcept;      // of an array
const redisReply* element(const redisReply* r, std::size_t i) noexcept;

class Connection {
 public:
  // Connects (connect and command timeouts of `timeout_ms`) and SELECTs the database.
  // store_unavailable when the server cannot be reached or refuses.
  static util::Result<Connection> open(const Address& address, int timeout_ms);
  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection();

  void append(const std::vector<std::string_view>& argv);
  util::Result<Reply> reply();
  util::Result<Reply> command(const std::vector<std::string_view>& argv);
  bool broken() const noexcept;

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const noexcept;
  };
  Connection(std::unique_ptr<redisContext, ContextDeleter> c, std::string where);
  util::Error failure(const char* what) const;

  std::unique_ptr<redisContext, ContextDeleter> m_ctx;
  std::string m_where;  // Address::display(), for messages
};

}  // namespace ssestitch::store::redis
