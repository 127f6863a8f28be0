#pragma once
// RedisOptions: how a RedisStore is opened (the rules and the key layout are in redis_store.h).
// A header of its own so that the store's private parts (redis::Writer) need not include the
// public RedisStore.

#include <cstddef>
#include <cstdint>

#include "core/store/redis_connection.h"
#include "core/store/session_store.h"
#include "core/util/clock.h"

namespace ssestitch::store {

struct RedisOptions {
  redis::Address address;
  bool read_only = false;             // inspect / replay: no writer
  SyncMode sync = SyncMode::batch;    // compared with the server's appendonly / appendfsync
  Retention retention;
  std::size_t queue_max_bytes = 64u << 20;
  int timeout_ms = 2000;              // connect and per-command timeout
  std::int64_t liveness_ms = 3000;    // TTL of a writer's liveness key (see "Several writers")
  std::int64_t outage_hold_ms = 60'000;  // a group is retried this long while Redis is away
  // Replicas that must have a group (WAIT) before its callbacks run: a failover to one of
  // them loses nothing forwarded. 0: the primary's acknowledgement is enough. Fewer within
  // replica_wait_ms: the group is held and sent again, as while Redis is away.
  unsigned replicas = 0;
  int replica_wait_ms = 1000;
  const util::Clock* clock = nullptr;  // nullptr: util::system_clock()
};

}  // namespace ssestitch::store
