#include "core/store/redis_liveness.h"

#include <unistd.h>

#include <cstdio>
#include <random>

namespace ssestitch::store::redis {
namespace {

std::string make_token() {
  char host[64] = {};
  gethostname(host, sizeof host - 1);
  std::random_device rd;
  const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s:%d:%016llx", host, static_cast<int>(getpid()), static_cast<unsigned long long>(r));
  return buf;
}

}  // namespace

Liveness::Liveness(const Keys& keys, std::string where, std::int64_t lease_ms)
    : m_keys(keys), m_where(std::move(where)), m_lease_ms(lease_ms), m_token(make_token()) {}

util::Result<void> Liveness::renew(Connection& c) {
  m_next_renew = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_lease_ms / 3);
  auto r = c.command({"SET", m_keys.live(m_token), "1", "PX", std::to_string(m_lease_ms)});
  if (!r) return std::move(r).error();
  return check(r->get(), m_where);
}

void Liveness::release(Connection& c) { (void)c.command({"DEL", m_keys.live(m_token)}); }

}  // namespace ssestitch::store::redis
