#include "core/store/redis_lease.h"

#include <unistd.h>

#include <cstdio>
#include <random>
#include <thread>

#include "core/util/log.h"

namespace ssestitch::store::redis {
namespace {

using util::Errc;

// KEYS: the lease. ARGV: token, lease ms. 1 when this token holds it (again), else 0.
constexpr const char* k_renew_script = R"lua(
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
)lua";

constexpr const char* k_release_script = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

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

WriterLease::WriterLease(const Keys& keys, std::string where, std::int64_t lease_ms)
    : m_keys(keys), m_where(std::move(where)), m_lease_ms(lease_ms), m_token(make_token()) {}

util::Result<void> WriterLease::take(Connection& c) {
  const std::string ms = std::to_string(m_lease_ms);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_lease_ms + 1000);
  bool said = false;
  for (;;) {
    auto r = c.command({"SET", m_keys.writer(), m_token, "NX", "PX", ms});
    if (!r) return std::move(r).error();
    if (auto ok = check(r->get(), m_where); !ok) return ok;
    if (!is_nil(r->get())) break;
    auto holder = c.command({"GET", m_keys.writer()});
    const std::string who = holder ? std::string(text(holder->get())) : std::string("?");
    if (std::chrono::steady_clock::now() >= deadline) {
      return util::fail(Errc::store_locked, "redis " + m_where + ": another proxy writes this store (writer lease " +
                                                m_keys.writer() + " held by " + who + ")");
    }
    if (!said) {
      util::log(util::LogLevel::warn, "store_lease_wait", {{"key", m_keys.writer()}, {"holder", who}, {"lease_ms", m_lease_ms}});
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  m_next_renew = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_lease_ms / 3);
  return util::ok();
}

util::Result<bool> WriterLease::renew(Connection& c) {
  m_next_renew = std::chrono::steady_clock::now() + std::chrono::milliseconds(m_lease_ms / 3);
  auto r = c.command({"EVAL", k_renew_script, "1", m_keys.writer(), m_token, std::to_string(m_lease_ms)});
  if (!r) return std::move(r).error();
  if (auto ok = check(r->get(), m_where); !ok) return std::move(ok).error();
  return integer(r->get()) != 0;
}

void WriterLease::release(Connection& c) {
  (void)c.command({"EVAL", k_release_script, "1", m_keys.writer(), m_token});
}

}  // namespace ssestitch::store::redis
