#pragma once
// redis::Liveness: the key that says a writing proxy is alive ("Several writers" in
// redis_store.h). Private to core/store.
//
// Each writer has a token ("host:pid:random", written as the `owner` of the streams it creates)
// and keeps P:live:TOKEN alive with a TTL of lease_ms, renewed every third of it by its writer
// thread. Another proxy may take over (claim) a stream only once its owner's key is gone; the
// owner field, not this key, fences the writes (redis_append.h), so a writer that was only
// paused past its TTL is refused rather than trusted. Times are the steady clock's, never the
// store's clock (tests run the store on a manual clock; the TTL runs in Redis in real time).

#include <chrono>
#include <cstdint>
#include <string>

#include "core/store/redis_connection.h"
#include "core/store/redis_keys.h"

namespace ssestitch::store::redis {

class Liveness {
 public:
  Liveness(const Keys& keys, std::string where, std::int64_t lease_ms);
  const std::string& token() const noexcept { return m_token; }

  bool renew_due() const { return std::chrono::steady_clock::now() >= m_next_renew; }
  // Sets the key (again) with a fresh TTL. store_unavailable.
  util::Result<void> renew(Connection& c);
  // Deletes the key (best effort, at close): this writer's streams may be claimed at once.
  void release(Connection& c);

 private:
  const Keys& m_keys;
  const std::string m_where;
  const std::int64_t m_lease_ms;
  const std::string m_token;
  std::chrono::steady_clock::time_point m_next_renew{};
};

}  // namespace ssestitch::store::redis
