#include "core/proxy/stream_relay.h"

#include <algorithm>
#include <limits>

#include "core/proxy/config.h"
#include "core/proxy/header_policy.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/sse/writer.h"
#include "core/store/session_store.h"
#include "core/tracker/downstream_id.h"
#include "core/util/log.h"

namespace ssestitch::proxy {
namespace {

using util::LogLevel;

constexpr std::size_t k_replay_chunk_bytes = 256u << 10;  // one store scan / one write
constexpr std::size_t k_replay_chunk_events = 2000;
// The most committed events a catching-up client may be behind before the upstream is held
// (also at most half of --retain-events, so retention never evicts what it has yet to read).
constexpr std::uint64_t k_max_client_lag = 50'000;

}  // namespace

StreamRelay::StreamRelay(Context& ctx, std::uint64_t stream, Owner& owner)
    : m_ctx(ctx), m_stream(stream), m_owner(owner),
      m_keepalive(ctx, [this](std::string_view bytes) { write(bytes); }),
      m_linger(*ctx.loop, [this] {
        if (m_client == nullptr) m_owner.linger_expired();
      }) {}

StreamRelay::~StreamRelay() {
  if (m_client != nullptr) {
    m_client->set_observer(nullptr);
    m_client->finish();
  }
}

void StreamRelay::attach(net::ServerRequest& request, std::uint64_t after_seq) {
  if (m_client != nullptr) {
    // One consumer per stream (MCP: never broadcast); the newest resume wins.
    detach(false);
  }
  m_linger.cancel();
  m_client = &request;
  m_had_client = true;
  request.set_observer(this);
  if (!request.started()) request.start(200, sse_response_headers());
  m_sent_seq = after_seq;
  m_replaying = true;
  m_keepalive.start();
  replay_step();
}

void StreamRelay::replay_step() {
  while (m_client != nullptr && m_replaying) {
    if (m_client->backlog() >= k_replay_chunk_bytes) return;  // on_drained() continues
    m_out.clear();
    std::uint64_t last = m_sent_seq;
    std::size_t count = 0;
    auto scanned = m_ctx.store->scan_events(
        m_stream, m_sent_seq, k_replay_chunk_events, k_replay_chunk_bytes, [&](const store::EventView& ev) {
          sse::append_event(m_out, sse::OutEvent{tracker::format_downstream_id({ev.stream, ev.seq}), ev.type,
                                                 ev.data, std::nullopt});
          last = ev.seq;
          ++count;
          return true;
        });
    if (!scanned) {
      util::log(LogLevel::error, "replay_failed", {{"stream", m_stream}, {"message", scanned.error().message}});
      ++m_ctx.metrics->errors[std::string(util::to_string(scanned.error().code))];
      detach(true);
      return;
    }
    if (count == 0) {
      // Caught up with the log: everything committed has been sent; go live.
      m_replaying = false;
      m_owner.client_released();
      const std::uint64_t committed = m_owner.committed_seq();
      if (m_sent_seq < committed) m_sent_seq = committed;  // degraded store: skip what it lacks
      maybe_finish();
      return;
    }
    m_ctx.metrics->events_replayed += count;
    m_sent_seq = last;
    write(m_out);
  }
}

void StreamRelay::catch_up() {
  if (m_client == nullptr || m_replaying) return;
  m_replaying = true;
  replay_step();
}

bool StreamRelay::lagging() const {
  if (m_client == nullptr || !m_replaying) return false;
  const std::uint64_t keep = m_ctx.config->retention.max_events_per_stream;
  const std::uint64_t limit = std::min<std::uint64_t>(keep == 0 ? k_max_client_lag : keep / 2, k_max_client_lag);
  return m_owner.last_seq() - m_sent_seq >= std::max<std::uint64_t>(limit, 1);
}

void StreamRelay::deliver(Outbox& outbox, std::uint64_t upto_seq) {
  if (m_client != nullptr && !m_replaying && m_client->backlog() >= m_ctx.config->client_buffer) {
    // The client reads slower than events arrive. Stop writing live and let it catch up from
    // the log as it drains (everything committed is in the store), so its memory stays
    // bounded and a burst never costs a fast reader its connection. A client that stops
    // reading altogether is evicted by the write timeout.
    m_replaying = true;
    ++m_ctx.metrics->clients_fell_behind;
    util::log(LogLevel::debug, "client_behind",
              {{"stream", m_stream}, {"backlog", m_client->backlog()}, {"sent_seq", m_sent_seq}});
  }
  const bool live = m_client != nullptr && !m_replaying;
  const Outbox::Released sent = outbox.release(upto_seq, live ? m_sent_seq : std::numeric_limits<std::uint64_t>::max(),
                                               [this](std::string_view bytes) { write(bytes); });
  if (sent.count > 0) {
    m_sent_seq = sent.last_seq;
    m_ctx.metrics->events_forwarded += sent.count;
  }
}

void StreamRelay::write(std::string_view bytes) {
  if (m_client == nullptr || bytes.empty()) return;
  m_client->write(bytes);
  m_keepalive.wrote();
}

void StreamRelay::maybe_finish() {
  const std::optional<std::uint64_t> final_seq = m_owner.final_seq();
  if (m_client == nullptr || !final_seq || m_replaying) return;
  if (m_owner.committed_seq() < *final_seq || m_sent_seq < *final_seq) return;
  detach(false);
}

void StreamRelay::detach(bool abort) {
  net::ServerRequest* client = m_client;
  if (client == nullptr) return;
  client->set_observer(nullptr);
  client_gone();
  if (abort) {
    client->abort();
  } else {
    client->finish();
  }
}

void StreamRelay::on_client_closed() noexcept {
  // MCP 2025-03-26..2025-11-25: a disconnect is not a cancellation. The upstream keeps being
  // read and logged so the client can resume, for --linger at most.
  client_gone();
}

void StreamRelay::client_gone() {
  m_client = nullptr;
  m_replaying = false;
  m_keepalive.stop();
  m_owner.client_released();
  linger();
  m_ctx.registry->collect_soon();
}

void StreamRelay::linger() {
  if (m_client == nullptr && !m_owner.final_seq()) m_linger.arm_ms(m_ctx.config->linger_ms);
}

void StreamRelay::on_drained() noexcept {
  if (m_replaying) replay_step();
}

}  // namespace ssestitch::proxy
