#include "core/proxy/keepalive.h"

#include <string>

#include "core/proxy/config.h"
#include "core/proxy/metrics.h"
#include "core/sse/writer.h"
#include "core/util/clock.h"

namespace ssestitch::proxy {

namespace {
constexpr std::int64_t k_ns_per_ms = 1'000'000;
}

Keepalive::Keepalive(Context& ctx, Write write)
    : m_ctx(ctx), m_write(std::move(write)), m_timer(*ctx.loop, [this] { tick(); }) {}

void Keepalive::start() {
  wrote();
  m_timer.arm_ms(m_ctx.config->keepalive_ms);
}

void Keepalive::stop() { m_timer.cancel(); }

void Keepalive::wrote() noexcept { m_last_write_ns = m_ctx.clock->mono_ns(); }

void Keepalive::tick() {
  const std::int64_t interval_ns = m_ctx.config->keepalive_ms * k_ns_per_ms;
  const std::int64_t since = m_ctx.clock->mono_ns() - m_last_write_ns;
  if (since >= interval_ns - interval_ns / 10) {
    std::string comment;
    sse::append_keepalive(comment);
    ++m_ctx.metrics->keepalives_sent;
    m_write(comment);
    wrote();
    m_timer.arm_ms(m_ctx.config->keepalive_ms);
    return;
  }
  m_timer.arm_ms((interval_ns - since) / k_ns_per_ms + 1);
}

}  // namespace ssestitch::proxy
