#pragma once
// The redis:// and unix:// addresses of `--store` (a RedisStore). Private to core/store.

#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::store::redis {

// One server: a host name or address (IPv6 without brackets) and a port.
struct NodeAddress {
  std::string host;
  int port = 0;
  bool operator==(const NodeAddress&) const = default;
};

// Where a RedisStore lives: `redis://HOST[:PORT][,HOST[:PORT]...][/DB][?prefix=NAME]` or
// `unix:///PATH[?db=DB&prefix=NAME]`. HOST is a name or an address (IPv6 in brackets); PORT
// defaults to 6379, DB to 0, the key prefix to "ssestitch" (several proxy fleets may share one
// Redis with different prefixes). Several nodes name one Redis Cluster: the first that answers
// is asked for the others (redis_connection.h).
struct Address {
  std::string host;        // the first node; empty for unix://
  int port = 6379;
  std::vector<NodeAddress> more;  // the nodes after the first
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
