#pragma once
// The redis:// and unix:// addresses of `--store` (a RedisStore). Private to core/store.

#include <string>
#include <string_view>

#include "core/util/result.h"

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

}  // namespace ssestitch::store::redis
