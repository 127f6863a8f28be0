#include "core/proxy/stream_follower.h"

#include <algorithm>

#include "core/store/session_store.h"
#include "core/util/log.h"

namespace ssestitch::proxy {
namespace {

constexpr std::int64_t k_poll_ms = 25;       // while the stream moves
constexpr std::int64_t k_idle_poll_ms = 200;  // the longest pause, reached while it does not
constexpr std::int64_t k_claim_every_ms = 1000;

}  // namespace

StreamFollower::StreamFollower(Context& ctx, std::uint64_t stream, Owner& owner)
    : m_ctx(ctx), m_stream(stream), m_owner(owner), m_timer(*ctx.loop, [this] { poll(); }) {}

void StreamFollower::start() {
  m_pause_ms = k_poll_ms;
  m_since_claim_ms = 0;
  m_timer.arm_ms(m_pause_ms);
}

void StreamFollower::poll() {
  auto rec = m_ctx.store->stream(m_stream);
  bool moved = false;
  if (!rec) {
    util::log(util::LogLevel::warn, "follow_read_failed", {{"stream", m_stream}, {"message", rec.error().message}});
  } else if (*rec) {
    moved = (*rec)->next_seq != m_seen_next_seq;
    m_seen_next_seq = (*rec)->next_seq;
    if (!m_owner.followed(**rec)) return;  // the stream ended
  }
  m_since_claim_ms += m_pause_ms;
  if (m_since_claim_ms >= k_claim_every_ms) {
    m_since_claim_ms = 0;
    auto mine = m_ctx.store->claim(m_stream);
    if (mine && *mine) {
      m_timer.cancel();
      m_owner.owner_gone();
      return;
    }
  }
  m_pause_ms = moved ? k_poll_ms : std::min(m_pause_ms * 2, k_idle_poll_ms);
  m_timer.arm_ms(m_pause_ms);
}

}  // namespace ssestitch::proxy
