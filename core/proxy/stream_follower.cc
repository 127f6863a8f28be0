#include "core/proxy/stream_follower.h"

#include "core/store/session_store.h"
#include "core/util/log.h"

namespace ssestitch::proxy {
namespace {

constexpr std::int64_t k_poll_ms = 25;
constexpr unsigned k_polls_per_claim = 40;  // a claim attempt once a second

}  // namespace

StreamFollower::StreamFollower(Context& ctx, std::uint64_t stream, Owner& owner)
    : m_ctx(ctx), m_stream(stream), m_owner(owner), m_timer(*ctx.loop, [this] { poll(); }) {}

void StreamFollower::start() { m_timer.arm_ms(k_poll_ms); }

void StreamFollower::poll() {
  auto rec = m_ctx.store->stream(m_stream);
  if (!rec) {
    util::log(util::LogLevel::warn, "follow_read_failed", {{"stream", m_stream}, {"message", rec.error().message}});
  } else if (*rec && !m_owner.followed(**rec)) {
    return;  // the stream ended
  }
  if (++m_polls % k_polls_per_claim == 0) {
    auto mine = m_ctx.store->claim(m_stream);
    if (mine && *mine) {
      m_timer.cancel();
      m_owner.owner_gone();
      return;
    }
  }
  m_timer.arm_ms(k_poll_ms);
}

}  // namespace ssestitch::proxy
