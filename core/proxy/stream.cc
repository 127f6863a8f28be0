#include "core/proxy/stream.h"

#include <algorithm>

#include "core/mcp/message.h"
#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/header_policy.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/session_table.h"
#include "core/sse/writer.h"
#include "core/store/session_store.h"
#include "core/tracker/downstream_id.h"
#include "core/tracker/event_tracker.h"
#include "core/util/clock.h"
#include "core/util/log.h"
#include "core/util/random.h"

namespace ssestitch::proxy {
namespace {

using util::LogLevel;

constexpr std::size_t k_replay_chunk_bytes = 256u << 10;  // one store scan / one write
constexpr std::size_t k_replay_chunk_events = 2000;
// The most committed events a catching-up client may be behind before the upstream is held
// (also at most half of --retain-events, so retention never evicts what it has yet to read).
constexpr std::uint64_t k_max_client_lag = 50'000;
constexpr std::int64_t k_ns_per_ms = 1'000'000;
// A chunk that arrives after at least this much upstream silence is committed and forwarded
// from within libcurl's write callback (CommitPipeline::flush_events): paced events skip a
// loop iteration's worth of libcurl bookkeeping. Chunks of a burst, closer together, are
// grouped into one commit per loop iteration as before (one commit per chunk halved the
// per-write throughput).
constexpr std::int64_t k_burst_gap_ns = 50'000;

std::int64_t mono_ns() { return util::system_clock().mono_ns(); }

}  // namespace

Stream::Stream(Context& ctx, store::StreamRecord record, net::Headers upstream_headers)
    : m_ctx(ctx), m_record(std::move(record)), m_upstream_headers(std::move(upstream_headers)),
      m_parser(ctx.config->sse_limits),
      m_backoff(ctx.config->reconnect_base_ms, ctx.config->reconnect_cap_ms, ctx.config->reconnect_budget_ms,
                util::random_seed()),
      m_reconnect_timer(*ctx.loop, [this] { start_reconnect(); }),
      m_idle_timer(*ctx.loop, [this] { check_idle(); }),
      m_cleanup(*ctx.loop, [this] {
        if (m_transfer && (m_transfer->finished() || m_transfer->cancelled())) m_transfer.reset();
        m_ctx.registry->collect_soon();
      }),
      m_keepalive(*ctx.loop, [this] { keepalive_tick(); }),
      m_linger(*ctx.loop, [this] { linger_expired(); }) {
  m_pending.insert(m_record.pending_request_ids.begin(), m_record.pending_request_ids.end());
  m_committed_seq = m_record.next_seq > 0 ? m_record.next_seq - 1 : 0;
}

Stream::~Stream() {
  if (m_client != nullptr) {
    m_client->set_observer(nullptr);
    m_client->finish();
  }
  m_ctx.tracker->remove_stream(m_record.stream);
}

std::int64_t Stream::now_ms() const { return util::system_clock().wall_ms(); }

std::uint64_t Stream::last_seq() const {
  const std::uint64_t next = m_ctx.tracker->next_seq(m_record.stream);
  return next > 0 ? next - 1 : m_committed_seq;  // 0: not tracked (a finished stream being replayed)
}

bool Stream::stateful_mcp() const noexcept { return m_record.kind != store::StreamKind::generic; }

bool Stream::collectable() const noexcept {
  return !is_open() && m_client == nullptr && m_outbox.empty() && !m_transfer &&
         !m_ctx.pipeline->is_dirty(m_record.stream);
}

store::StreamRecord Stream::snapshot() {
  store::StreamRecord r = m_record;
  if (const tracker::Cursor* c = m_ctx.tracker->cursor(r.stream)) {
    r.has_upstream_id = c->last_upstream_id.has_value();
    r.upstream_last_id = c->last_upstream_id.value_or("");
    r.retry_ms = c->retry_ms.value_or(r.retry_ms);
    r.next_seq = m_ctx.tracker->next_seq(r.stream);
  }
  r.pending_request_ids.assign(m_pending.begin(), m_pending.end());
  std::sort(r.pending_request_ids.begin(), r.pending_request_ids.end());
  r.last_active_ms = now_ms();
  m_record.upstream_last_id = r.upstream_last_id;
  m_record.has_upstream_id = r.has_upstream_id;
  m_record.next_seq = r.next_seq;
  return r;
}

// ----------------------------------------------------------------------------- upstream leg

void Stream::adopt_upstream(std::unique_ptr<net::Transfer> transfer) {
  m_transfer = std::move(transfer);
  m_transfer->set_observer(this);
  m_parser.reset();
  upstream_ok();
}

void Stream::upstream_ok() {
  m_transfer_ok = true;
  m_progress = false;
  m_saw_retry = false;
  m_last_byte_ns = mono_ns();
  m_idle_timer.arm_ms(m_ctx.config->upstream_idle_timeout_ms);
}

void Stream::recover(std::uint64_t recovered_seq) {
  m_committed_seq = recovered_seq;
  m_sent_seq = recovered_seq;
  m_linger.arm_ms(m_ctx.config->linger_ms);
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  const bool has_cursor = cursor != nullptr && cursor->last_upstream_id.has_value();
  if (m_record.kind == store::StreamKind::post && !has_cursor) {
    end_not_resumable("proxy restarted and the stream has no upstream event id to resume from");
    return;
  }
  util::log(LogLevel::info, "stream_recovered",
            {{"stream", m_record.stream}, {"kind", store::to_string(m_record.kind)}, {"next_seq", m_record.next_seq}});
  schedule_reconnect("proxy restart", std::nullopt);
}

void Stream::on_response(int status, const net::Headers& headers) noexcept {
  const bool sse = net::media_type_is(headers.get("Content-Type").value_or(""), "text/event-stream");
  if (status == 200 && sse) {
    if (m_sent_last_event_id) {
      ++m_ctx.metrics->reconnects_resumed;
    } else {
      ++m_ctx.metrics->reconnects_reopened;
    }
    m_ctx.tracker->note_reconnect(m_record.stream);
    upstream_ok();
    util::log(LogLevel::info, "upstream_reconnected",
              {{"stream", m_record.stream}, {"resumed", m_sent_last_event_id}, {"attempts", m_backoff.failures()}});
    return;
  }
  reconnect_failed(status, headers);
}

net::Transfer::BodyAction Stream::on_body(std::string_view bytes) noexcept {
  if (!m_transfer_ok) return net::Transfer::BodyAction::consume;
  if (client_lagging()) {
    // The attached client catches up from the log more slowly than the upstream fills it: hold
    // the upstream (TCP backpressure, as a direct connection would) before retention could
    // evict events the client has not read. Resumed when the client goes live again or leaves.
    m_paused_for_client = true;
    return net::Transfer::BodyAction::pause;
  }
  if (!m_ctx.pipeline->accepting()) {
    // The writer is behind: libcurl keeps these bytes and offers them again after resume().
    if (!m_paused) {
      m_paused = true;
      // By number, not `this`: the stream may be gone by the time the writer catches up.
      m_ctx.pipeline->when_accepting([registry = m_ctx.registry, no = m_record.stream] {
        if (Stream* self = registry->find(no)) self->resume_upstream();
      });
    }
    return net::Transfer::BodyAction::pause;
  }
  const std::int64_t now = mono_ns();
  const std::int64_t gap = now - m_last_byte_ns;
  m_max_gap_ns = std::max(m_max_gap_ns, gap);
  m_last_byte_ns = now;
  auto fed = m_parser.feed(bytes, [this](const sse::Event& ev) {
    if (is_open()) on_block(ev);
  });
  if (!fed) {
    util::log(LogLevel::warn, "upstream_malformed_sse",
              {{"stream", m_record.stream}, {"error", util::to_string(fed.error().code)}, {"message", fed.error().message}});
    ++m_ctx.metrics->errors[std::string(util::to_string(fed.error().code))];
    drop_transfer();
    end_not_resumable(fed.error().message);
    return net::Transfer::BodyAction::consume;
  }
  if (gap >= k_burst_gap_ns) m_ctx.pipeline->flush_events();
  return net::Transfer::BodyAction::consume;
}

void Stream::on_done(const util::Result<void>& result) noexcept {
  const bool was_ok = m_transfer_ok;
  m_transfer_ok = false;
  m_cleanup.fire();  // the finished transfer is destroyed outside this callback
  if (!is_open()) return;
  if (!was_ok) {
    // Failed before any answer (connect, DNS, TLS, reset during headers).
    ++m_ctx.metrics->reconnects_failed;
    m_backoff.failed(now_ms());
    schedule_reconnect(result ? "upstream closed before answering" : result.error().message, std::nullopt);
    return;
  }
  if (result && m_record.kind == store::StreamKind::generic && !m_saw_retry) {
    // A generic SSE response that ended cleanly (complete chunked body) without a retry: hint is
    // the server ending the stream on purpose: pass the end on instead of re-opening it for
    // ever. Resets, truncated bodies and idle timeouts are drops, hidden by a resume.
    util::log(LogLevel::info, "stream_completed", {{"stream", m_record.stream}, {"reason", "upstream ended the response"}});
    m_final_seq = last_seq();
    finish(store::StreamState::completed);
    return;
  }
  // A connection that brought nothing new and no retry: hint counts as a failed attempt, so a
  // server that accepts and closes at once is backed off (and eventually given up), not
  // hammered. A close after retry: is the 2025-11-25 polling pattern: wait retry, no growth.
  if (!m_progress && !m_saw_retry) m_backoff.failed(now_ms());
  upstream_lost(result ? "upstream closed the stream" : result.error().message);
}

void Stream::on_block(const sse::Event& ev) {
  const std::uint64_t no = m_record.stream;
  if (ev.retry) {
    m_ctx.tracker->note_retry(no, *ev.retry);
    m_ctx.pipeline->mark_dirty(no);
    m_saw_retry = true;
  }
  std::optional<std::string_view> id;
  if (ev.id) {
    if (auto valid = tracker::validate_event_id(*ev.id); valid) {
      id = *ev.id;
    } else {
      ++m_ctx.metrics->errors["bad_upstream_event_id"];
    }
  }
  // MCP messages are JSON: a block without data, or with empty data, is a priming event
  // (2025-11-25: "an event ID and an empty data field"), a cursor move and not a message.
  if (!ev.dispatch || (stateful_mcp() && ev.data.empty())) {
    if (id && !id->empty()) {
      if (m_ctx.tracker->observe_id_only(no, *id) == tracker::Verdict::fresh) made_progress();
      ++m_ctx.metrics->priming_events;
      m_ctx.pipeline->mark_dirty(no);
    }
    return;
  }
  const tracker::Observation obs = m_ctx.tracker->observe(no, id);
  if (obs.verdict == tracker::Verdict::duplicate) {
    ++m_ctx.metrics->events_deduplicated;
    return;
  }
  if (obs.gap) {
    ++m_ctx.metrics->gaps;
    m_ctx.metrics->gap_events += *obs.gap;
    util::log(LogLevel::warn, "upstream_gap", {{"stream", no}, {"missing", *obs.gap}});
  }
  ++m_ctx.metrics->events_received;
  made_progress();
  store::EventRecord rec;
  rec.stream = no;
  rec.seq = obs.seq;
  rec.upstream_id = std::string(id.value_or(""));
  rec.type = ev.type;
  rec.data = ev.data;
  rec.arrival_ms = now_ms();
  m_outbox.emplace_back(obs.seq, std::string());
  sse::append_event(m_outbox.back().second,
                    sse::OutEvent{tracker::format_downstream_id({no, obs.seq}), ev.type, ev.data, std::nullopt});
  m_ctx.pipeline->add_event(std::move(rec));
  // The store advances the stream's record (next seq, cursor) with the event itself; what the
  // event does not carry makes the stream dirty: a reset cursor, a change of pending ids.
  if (id && id->empty()) m_ctx.pipeline->mark_dirty(no);

  if (m_record.kind == store::StreamKind::post && !m_pending.empty()) {
    bool answered = false;
    for (const std::string& rid : mcp::response_ids(ev.data)) answered |= m_pending.erase(rid) != 0;
    if (answered) m_ctx.pipeline->mark_dirty(no);
    if (m_pending.empty()) {
      // Every request of the POST has its response: the stream is complete (the SDK server
      // may keep a resumed stream open forever, so we do not wait for its EOF).
      m_final_seq = obs.seq;
      finish(store::StreamState::completed);
    }
  }
}

std::uint64_t Stream::append_event(std::optional<std::string_view> upstream_id, std::string_view type,
                                   std::string_view data) {
  const std::uint64_t no = m_record.stream;
  const tracker::Observation obs = m_ctx.tracker->observe(no, upstream_id);
  store::EventRecord rec;
  rec.stream = no;
  rec.seq = obs.seq;
  rec.upstream_id = std::string(upstream_id.value_or(""));
  rec.type = std::string(type);
  rec.data = std::string(data);
  rec.arrival_ms = now_ms();
  m_outbox.emplace_back(obs.seq, std::string());
  sse::append_event(m_outbox.back().second,
                    sse::OutEvent{tracker::format_downstream_id({no, obs.seq}), type, data, std::nullopt});
  m_ctx.pipeline->add_event(std::move(rec));
  if (upstream_id && upstream_id->empty()) m_ctx.pipeline->mark_dirty(no);  // as in on_block()
  return obs.seq;
}

void Stream::made_progress() {
  if (m_progress) return;
  m_progress = true;
  m_backoff.succeeded();
}

bool Stream::client_lagging() const noexcept {
  if (m_client == nullptr || !m_replaying) return false;
  const std::uint64_t keep = m_ctx.config->retention.max_events_per_stream;
  const std::uint64_t limit = std::min<std::uint64_t>(keep == 0 ? k_max_client_lag : keep / 2, k_max_client_lag);
  return last_seq() - m_sent_seq >= std::max<std::uint64_t>(limit, 1);
}

void Stream::release_client_pause() {
  if (!m_paused_for_client) return;
  m_paused_for_client = false;
  if (!m_paused) resume_upstream();
}

void Stream::resume_upstream() {
  m_paused = false;
  if (m_paused_for_client && client_lagging()) return;  // still held for the client
  m_paused_for_client = false;
  if (m_transfer && !m_transfer->finished() && !m_transfer->cancelled()) m_transfer->resume();
}

void Stream::upstream_lost(std::string_view reason) {
  if (!is_open()) return;
  if (m_record.kind == store::StreamKind::post && m_pending.empty()) {
    m_final_seq = last_seq();
    finish(store::StreamState::completed);
    return;
  }
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  const bool has_cursor = cursor != nullptr && cursor->last_upstream_id.has_value();
  if (m_record.kind == store::StreamKind::post && !has_cursor) {
    end_not_resumable(std::string(reason) + "; the server sent no event ids, so the stream cannot be resumed");
    return;
  }
  schedule_reconnect(reason, std::nullopt);
}

void Stream::reconnect_failed(int status, const net::Headers& headers) {
  ++m_ctx.metrics->reconnects_failed;
  drop_transfer();
  const std::string reason = "upstream answered " + std::to_string(status) +
                             (status == 200 ? " without text/event-stream" : "") + " to the reconnect";
  if (!is_open()) return;
  if (status == 204) {  // EventSource semantics: the server asks the client to stop.
    m_final_seq = last_seq();
    finish(store::StreamState::completed);
    return;
  }
  if (status == 404 && !m_record.session.empty()) {
    // MCP: the session expired or was terminated upstream; the client must re-initialise.
    if (Session* s = m_ctx.sessions->find_any(m_record.session); s != nullptr) {
      s->record.state = store::SessionState::expired;
      m_ctx.pipeline->add_session(s->record);
    }
    end_not_resumable("the upstream session expired (404)");
    return;
  }
  const bool transient = status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
  m_backoff.failed(now_ms());
  if (transient) {
    // 409: the server has not yet noticed that the previous connection died (TS SDK): retry.
    schedule_reconnect(reason, parse_retry_after_ms(headers.get("Retry-After").value_or("")));
    return;
  }
  if (m_sent_last_event_id && m_record.kind != store::StreamKind::post) {
    // The server refuses our Last-Event-ID: re-open the GET stream from now on (counted).
    m_resume_with_id = false;
    schedule_reconnect(reason + "; re-opening without Last-Event-ID", std::nullopt);
    return;
  }
  end_not_resumable(reason);
}

void Stream::schedule_reconnect(std::string_view reason, std::optional<std::int64_t> retry_after_ms) {
  drop_transfer();
  if (m_backoff.exhausted(now_ms())) {
    ++m_ctx.metrics->reconnects_gave_up;
    util::log(LogLevel::warn, "upstream_gave_up",
              {{"stream", m_record.stream}, {"reason", reason}, {"attempts", m_backoff.failures()}});
    end_not_resumable("reconnect budget (--reconnect-budget) spent: " + std::string(reason));
    return;
  }
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  std::optional<std::uint32_t> retry;
  if (cursor != nullptr && cursor->retry_ms) retry = cursor->retry_ms;
  const std::int64_t delay = m_backoff.next_delay_ms(retry, retry_after_ms);
  util::log(LogLevel::info, "upstream_reconnect",
            {{"stream", m_record.stream}, {"reason", reason}, {"delay_ms", delay}, {"attempt", m_backoff.failures() + 1}});
  m_reconnect_timer.arm_ms(delay);
}

void Stream::start_reconnect() {
  if (!is_open()) return;
  if (m_transfer) {  // a cancelled transfer not yet destroyed: we are outside its callbacks here
    m_transfer.reset();
  }
  net::UpstreamRequest req;
  req.method = "GET";
  req.url = m_ctx.config->upstream.origin() + m_record.target;
  req.headers = m_upstream_headers;
  req.headers.set("Accept", "text/event-stream");
  req.connect_timeout_ms = m_ctx.config->connect_timeout_ms;
  if (!m_record.session.empty()) {
    Session* s = m_ctx.sessions->find_any(m_record.session);
    if (s == nullptr || s->record.state != store::SessionState::open) {
      end_not_resumable("the session is gone");
      return;
    }
    req.headers.set("Mcp-Session-Id", s->record.upstream_id);
    if (!s->record.protocol_version.empty()) req.headers.set("MCP-Protocol-Version", s->record.protocol_version);
  }
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  m_sent_last_event_id = false;
  if (m_resume_with_id && cursor != nullptr && cursor->last_upstream_id) {
    req.headers.set("Last-Event-ID", *cursor->last_upstream_id);
    m_sent_last_event_id = true;
  }
  m_transfer_ok = false;
  m_parser.reset();
  auto t = net::Transfer::start(*m_ctx.upstream, std::move(req), this);
  if (!t) {
    ++m_ctx.metrics->reconnects_failed;
    m_backoff.failed(now_ms());
    schedule_reconnect(t.error().message, std::nullopt);
    return;
  }
  m_transfer = std::move(*t);
}

void Stream::end_not_resumable(std::string_view reason) {
  if (!is_open()) return;
  drop_transfer();
  if (m_record.kind == store::StreamKind::post) {
    ++m_ctx.metrics->not_resumable;
    util::log(LogLevel::warn, "stream_not_resumable",
              {{"stream", m_record.stream}, {"reason", reason}, {"pending", m_pending.size()}});
    // Each request still waiting gets a JSON-RPC error, so no client call hangs (behaviour 2).
    std::vector<std::string> ids(m_pending.begin(), m_pending.end());
    std::sort(ids.begin(), ids.end());
    const std::string message = "ssestitch: the upstream stream was lost and cannot be resumed: " + std::string(reason);
    for (const std::string& id : ids) {
      append_event(std::nullopt, "", mcp::error_response(id, mcp::k_error_upstream_lost, message));
      ++m_ctx.metrics->pending_errors_sent;
    }
    m_pending.clear();
    m_final_seq = last_seq();
    finish(store::StreamState::completed);
    return;
  }
  util::log(LogLevel::warn, "stream_ended", {{"stream", m_record.stream}, {"reason", reason}});
  m_final_seq = last_seq();
  finish(store::StreamState::abandoned);
}

void Stream::finish(store::StreamState state) {
  m_record.state = state;
  m_reconnect_timer.cancel();
  m_idle_timer.cancel();
  m_linger.cancel();
  drop_transfer();
  m_ctx.pipeline->mark_dirty(m_record.stream);
  if (!m_final_seq) m_final_seq = m_committed_seq;
  maybe_finish_client();
  m_ctx.registry->collect_soon();
}

void Stream::drop_transfer() {
  m_idle_timer.cancel();
  m_transfer_ok = false;
  if (m_transfer) {
    m_transfer->cancel();  // safe inside its own callbacks; destroyed by m_cleanup
    m_cleanup.fire();
  }
}

void Stream::check_idle() {
  if (!m_transfer_ok) return;
  if (m_paused || m_paused_for_client) {
    // We are not reading: silence is ours, not the upstream's.
    m_last_byte_ns = mono_ns();
    m_idle_timer.arm_ms(m_ctx.config->upstream_idle_timeout_ms);
    return;
  }
  // Never shorter than the upstream's own keepalive cadence once seen (with 50% slack).
  const std::int64_t timeout_ns =
      std::max(m_ctx.config->upstream_idle_timeout_ms * k_ns_per_ms, m_max_gap_ns + m_max_gap_ns / 2);
  const std::int64_t idle = mono_ns() - m_last_byte_ns;
  if (idle < timeout_ns) {
    m_idle_timer.arm_ms((timeout_ns - idle) / k_ns_per_ms + 1);
    return;
  }
  util::log(LogLevel::warn, "upstream_idle", {{"stream", m_record.stream}, {"idle_ms", idle / k_ns_per_ms}});
  drop_transfer();
  upstream_lost("upstream silent for " + std::to_string(idle / k_ns_per_ms) + " ms");
}

// ----------------------------------------------------------------------------- client leg

void Stream::attach_client(net::ServerRequest& request, std::uint64_t after_seq) {
  if (m_client != nullptr) {
    // One consumer per stream (MCP: never broadcast); the newest resume wins.
    detach_client(false);
  }
  m_linger.cancel();
  m_client = &request;
  request.set_observer(this);
  if (!request.started()) request.start(200, sse_response_headers());
  m_sent_seq = after_seq;
  m_replaying = true;
  m_last_write_ns = mono_ns();
  m_keepalive.arm_ms(m_ctx.config->keepalive_ms);
  replay_step();
}

void Stream::replay_step() {
  while (m_client != nullptr && m_replaying) {
    if (m_client->backlog() >= k_replay_chunk_bytes) return;  // on_drained() continues
    m_out.clear();
    std::uint64_t last = m_sent_seq;
    std::size_t count = 0;
    auto scanned = m_ctx.store->scan_events(
        m_record.stream, m_sent_seq, k_replay_chunk_events, k_replay_chunk_bytes,
        [&](const store::EventView& ev) {
          sse::append_event(m_out, sse::OutEvent{tracker::format_downstream_id({ev.stream, ev.seq}), ev.type,
                                                 ev.data, std::nullopt});
          last = ev.seq;
          ++count;
          return true;
        });
    if (!scanned) {
      util::log(LogLevel::error, "replay_failed", {{"stream", m_record.stream}, {"message", scanned.error().message}});
      ++m_ctx.metrics->errors[std::string(util::to_string(scanned.error().code))];
      detach_client(true);
      return;
    }
    if (count == 0) {
      // Caught up with the log: everything committed has been sent; go live.
      m_replaying = false;
      release_client_pause();
      if (m_sent_seq < m_committed_seq) m_sent_seq = m_committed_seq;  // degraded store: skip what it lacks
      maybe_finish_client();
      return;
    }
    m_ctx.metrics->events_replayed += count;
    m_sent_seq = last;
    write_to_client(m_out);
  }
}

void Stream::on_committed(std::uint64_t upto_seq, bool durable) {
  (void)durable;  // degraded: forwarded anyway (the proxy keeps forwarding; counted by the pipeline)
  if (upto_seq > m_committed_seq) m_committed_seq = upto_seq;
  deliver(m_committed_seq);
  maybe_finish_client();
  if (collectable()) m_ctx.registry->collect_soon();
}

void Stream::deliver(std::uint64_t upto_seq) {
  if (m_client != nullptr && !m_replaying && m_client->backlog() >= m_ctx.config->client_buffer) {
    // The client reads slower than events arrive. Stop writing live and let it catch up from
    // the log as it drains (everything committed is in the store), so its memory stays
    // bounded and a burst never costs a fast reader its connection. A client that stops
    // reading altogether is evicted by the write timeout.
    m_replaying = true;
    ++m_ctx.metrics->clients_fell_behind;
    util::log(LogLevel::debug, "client_behind",
              {{"stream", m_record.stream}, {"backlog", m_client->backlog()}, {"sent_seq", m_sent_seq}});
  }
  const bool live = m_client != nullptr && !m_replaying;
  m_out.clear();
  std::size_t count = 0;
  while (!m_outbox.empty() && m_outbox.front().first <= upto_seq) {
    auto& [seq, bytes] = m_outbox.front();
    if (live && seq > m_sent_seq) {
      m_out += bytes;
      m_sent_seq = seq;
      ++count;
    }
    m_outbox.pop_front();
  }
  if (count > 0) {
    m_ctx.metrics->events_forwarded += count;
    write_to_client(m_out);
  }
}

void Stream::write_to_client(std::string_view bytes) {
  if (m_client == nullptr || bytes.empty()) return;
  m_client->write(bytes);
  m_last_write_ns = mono_ns();
}

void Stream::maybe_finish_client() {
  if (m_client == nullptr || is_open() || m_replaying) return;
  const std::uint64_t final_seq = m_final_seq.value_or(m_committed_seq);
  if (m_committed_seq < final_seq || m_sent_seq < final_seq) return;
  detach_client(false);
}

void Stream::detach_client(bool abort) {
  net::ServerRequest* client = m_client;
  if (client == nullptr) return;
  m_client = nullptr;
  m_replaying = false;
  m_keepalive.cancel();
  client->set_observer(nullptr);
  release_client_pause();
  if (abort) {
    client->abort();
  } else {
    client->finish();
  }
  if (is_open()) m_linger.arm_ms(m_ctx.config->linger_ms);
  m_ctx.registry->collect_soon();
}

void Stream::on_client_closed() noexcept {
  m_client = nullptr;
  m_replaying = false;
  m_keepalive.cancel();
  release_client_pause();
  if (is_open()) {
    // MCP 2025-03-26..2025-11-25: a disconnect is not a cancellation. Keep reading and
    // logging the upstream so the client can resume, for --linger at most.
    m_linger.arm_ms(m_ctx.config->linger_ms);
  }
  m_ctx.registry->collect_soon();
}

void Stream::on_drained() noexcept {
  if (m_replaying) replay_step();
}

void Stream::keepalive_tick() {
  if (m_client == nullptr) return;
  const std::int64_t interval_ns = m_ctx.config->keepalive_ms * k_ns_per_ms;
  const std::int64_t since = mono_ns() - m_last_write_ns;
  if (since >= interval_ns - interval_ns / 10) {
    std::string ka;
    sse::append_keepalive(ka);
    ++m_ctx.metrics->keepalives_sent;
    write_to_client(ka);
    m_keepalive.arm_ms(m_ctx.config->keepalive_ms);
    return;
  }
  m_keepalive.arm_ms((interval_ns - since) / k_ns_per_ms + 1);
}

void Stream::linger_expired() {
  if (m_client != nullptr || !is_open()) return;
  ++m_ctx.metrics->streams_lingered_out;
  util::log(LogLevel::info, "stream_lingered_out", {{"stream", m_record.stream}, {"linger_ms", m_ctx.config->linger_ms}});
  m_final_seq = last_seq();
  finish(store::StreamState::abandoned);
}

void Stream::shutdown() {
  m_reconnect_timer.cancel();
  m_idle_timer.cancel();
  m_linger.cancel();
  if (m_transfer) {
    m_transfer->cancel();
    m_transfer.reset();
  }
  m_transfer_ok = false;
  detach_client(false);
  m_linger.cancel();
}

void Stream::end_session() {
  if (!is_open()) return;
  m_final_seq = last_seq();
  finish(store::StreamState::completed);
}

}  // namespace ssestitch::proxy
