#pragma once
// redis::WriterLease: the key that lets one proxy at a time write a RedisStore prefix
// ("Writer lease" in redis_store.h). Private to core/store.
//
// P:writer holds this writer's token ("host:pid:random") with a TTL of lease_ms; the writer
// thread renews it every third of that. Times are the steady clock's, never the store's clock
// (tests run the store on a manual clock; the TTL runs in Redis in real time).

#include <chrono>
#include <cstdint>
#include <string>

#include "core/store/redis_connection.h"
#include "core/store/redis_keys.h"

namespace ssestitch::store::redis {

class WriterLease {
 public:
  WriterLease(const Keys& keys, std::string where, std::int64_t lease_ms);

  // Takes the lease, waiting up to one lease period (plus a second) for one left by a process
  // that died. store_locked when a live holder keeps renewing it; store_unavailable.
  util::Result<void> take(Connection& c);
  bool renew_due() const { return std::chrono::steady_clock::now() >= m_next_renew; }
  // Renews it (or takes it again if it expired meanwhile). False when another writer holds it.
  util::Result<bool> renew(Connection& c);
  // Deletes the key if it is still ours (best effort, at close).
  void release(Connection& c);

 private:
  const Keys& m_keys;
  const std::string m_where;
  const std::int64_t m_lease_ms;
  const std::string m_token;
  std::chrono::steady_clock::time_point m_next_renew{};
};

}  // namespace ssestitch::store::redis
