#include "core/proxy/upstream_stream.h"

#include <algorithm>
#include <string>
#include <utility>

#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/reinit.h"
#include "core/proxy/session_table.h"
#include "core/tracker/event_tracker.h"
#include "core/util/clock.h"
#include "core/util/log.h"
#include "core/util/random.h"

namespace ssestitch::proxy {
namespace {

using util::LogLevel;

constexpr std::int64_t k_ns_per_ms = 1'000'000;
// A chunk that arrives after at least this much upstream silence is committed and forwarded
// from within libcurl's write callback (CommitPipeline::flush_events): paced events skip a
// loop iteration's worth of libcurl bookkeeping. Chunks of a burst, closer together, are
// grouped into one commit per loop iteration as before (one commit per chunk halved the
// per-write throughput), and so are the small chunks of several streams ready in the same loop
// iteration (EventLoop::others_ready(): then the Trigger commits them all after the last one is
// read). Until 2026-12-07 each of those committed on its own: 100 paced streams cost a
// transaction per event however busy the loop was (peer-bench's fan, 100 x 200 events/s, 4
// interleaved runs, medians: p50 1,674 -> 340 us, p99 31.5 -> 25.7 ms). A chunk of at least
// k_early_commit_blocks events still commits at once: deferring those too (peer-bench's fanmax,
// 100 bulk streams, ~60 events a read) made the Trigger's batches span every stream and cost
// twice the CPU (2 interleaved runs: 21,232-24,071 page faults against 11,301-12,168, proxy CPU
// 0.87-1.04 s against 0.57-0.71 s for 200,000 events).
constexpr std::int64_t k_burst_gap_ns = 50'000;
constexpr std::size_t k_early_commit_blocks = 8;

}  // namespace

UpstreamStream::UpstreamStream(Context& ctx, const store::StreamRecord& record, net::Headers headers, Owner& owner)
    : m_ctx(ctx), m_record(record), m_headers(std::move(headers)), m_owner(owner),
      m_parser(ctx.config->sse_limits, sse::Raw::drop), m_idle(ctx.config->upstream_idle_timeout_ms),
      m_backoff(ctx.config->reconnect_base_ms, ctx.config->reconnect_cap_ms, ctx.config->reconnect_budget_ms,
                util::random_seed()),
      m_reconnect_timer(*ctx.loop, [this] { start_reconnect(); }),
      m_idle_timer(*ctx.loop, [this] { check_idle(); }),
      m_cleanup(*ctx.loop, [this] {
        if (m_transfer && (m_transfer->finished() || m_transfer->cancelled())) m_transfer.reset();
        m_ctx.registry->collect_soon();
      }),
      m_alive(std::make_shared<UpstreamStream*>(this)) {}

UpstreamStream::~UpstreamStream() = default;

std::int64_t UpstreamStream::now_ms() const { return m_ctx.clock->wall_ms(); }

void UpstreamStream::adopt(std::unique_ptr<net::Transfer> transfer) {
  if (Session* s = m_ctx.sessions->find_any(m_record.session); s != nullptr) m_upstream_session = s->record.upstream_id;
  m_transfer = std::move(transfer);
  m_transfer->set_observer(this);
  m_parser.reset();
  healthy();
}

void UpstreamStream::healthy() {
  m_transfer_ok = true;
  m_progress = false;
  m_saw_retry = false;
  m_idle.reset(m_ctx.clock->mono_ns());
  m_idle_timer.arm_ms(m_ctx.config->upstream_idle_timeout_ms);
}

void UpstreamStream::recover() { schedule_reconnect("proxy restart", std::nullopt); }

void UpstreamStream::on_response(int status, const net::Headers& headers) {
  answered();
  if ((status == 404 || status == 400) && !m_record.session.empty()) {
    m_refusal_status = status;  // "unknown session", or not: the body tells (on_done)
    m_refusal_body.clear();
    return;
  }
  const bool sse = net::media_type_is(headers.get("Content-Type").value_or(""), "text/event-stream");
  if (m_reissue_body && status >= 200 && status < 300) {
    // The request sent again was accepted: its answer comes as SSE, or as one JSON body.
    m_reissue_body.reset();
    if (!sse) {
      m_json_answer = true;
      m_refusal_body.clear();
      return;
    }
    healthy();
    return;
  }
  if (status == 200 && sse) {
    if (m_sent_last_event_id) {
      ++m_ctx.metrics->reconnects_resumed;
    } else {
      ++m_ctx.metrics->reconnects_reopened;
    }
    m_ctx.tracker->note_reconnect(m_record.stream);
    healthy();
    util::log(LogLevel::info, "upstream_reconnected",
              {{"stream", m_record.stream}, {"resumed", m_sent_last_event_id}, {"attempts", m_backoff.failures()}});
    return;
  }
  reconnect_failed(status, headers);
}

net::Transfer::BodyAction UpstreamStream::on_body(std::string_view bytes) {
  if (m_json_answer) {
    if (m_refusal_body.size() + bytes.size() > m_ctx.config->max_body_size) {
      m_json_answer = false;
      end(End::not_resumable, "the answer to the request sent again is larger than --max-body-size");
      return net::Transfer::BodyAction::consume;
    }
    m_refusal_body.append(bytes);
    return net::Transfer::BodyAction::consume;
  }
  if (m_refusal_status != 0 && m_refusal_body.size() + bytes.size() <= k_max_refusal_body) m_refusal_body.append(bytes);
  if (!m_transfer_ok) return net::Transfer::BodyAction::consume;
  if (m_owner.client_holds_upstream()) {
    // Held before retention could evict events the client has not read; client_released()
    // resumes it.
    m_paused_for_client = true;
    return net::Transfer::BodyAction::pause;
  }
  if (!m_ctx.pipeline->accepting()) {
    // The writer is behind: libcurl keeps these bytes and offers them again after resume().
    if (!m_paused) {
      m_paused = true;
      m_ctx.pipeline->when_accepting([alive = std::weak_ptr<UpstreamStream*>(m_alive)] {
        if (auto self = alive.lock()) (*self)->pipeline_accepting();
      });
    }
    return net::Transfer::BodyAction::pause;
  }
  if (m_transfer && m_transfer->backlogged()) m_ctx.pipeline->note_backlog();
  const std::int64_t gap = m_idle.bytes_at(m_ctx.clock->mono_ns());
  const bool paced = gap >= k_burst_gap_ns;
  // Asked before parsing fires the Trigger, and only where it matters (not per chunk of a burst).
  const bool alone = paced && !m_ctx.loop->others_ready();
  std::size_t blocks = 0;
  const std::int64_t arrival_ms = m_ctx.clock->wall_ms();
  auto fed = m_parser.feed(bytes, [this, &blocks, arrival_ms](const sse::Event& ev) {
    if (!is_open()) return;
    ++blocks;
    if (ev.retry) m_saw_retry = true;
    if (m_owner.on_upstream_block(ev, arrival_ms) && !m_progress) {
      m_progress = true;
      m_backoff.succeeded();
    }
  });
  if (!fed) {
    util::log(LogLevel::warn, "upstream_malformed_sse",
              {{"stream", m_record.stream}, {"error", util::to_string(fed.error().code)}, {"message", fed.error().message}});
    ++m_ctx.metrics->errors[std::string(util::to_string(fed.error().code))];
    end(End::not_resumable, fed.error().message);
    return net::Transfer::BodyAction::consume;
  }
  if (paced && (alone || blocks >= k_early_commit_blocks)) m_ctx.pipeline->flush_events();
  return net::Transfer::BodyAction::consume;
}

void UpstreamStream::on_done(const util::Result<void>& result) {
  const bool was_ok = m_transfer_ok;
  m_transfer_ok = false;
  m_cleanup.fire();  // the finished transfer is destroyed outside this callback
  answered();
  if (!is_open()) return;
  if (std::exchange(m_json_answer, false) && result) {
    const std::string body = std::exchange(m_refusal_body, {});
    sse::Event answer;
    answer.data = body;
    answer.dispatch = true;
    m_owner.on_upstream_block(answer, m_ctx.clock->wall_ms());
    if (!is_open()) return;
  }
  if (const int status = std::exchange(m_refusal_status, 0); status != 0) {
    if (result && says_unknown_session(status, m_refusal_body)) {
      // The server does not know the session (it restarted, or ended it): try to carry the
      // session over to a new upstream session first.
      m_ctx.reinit->notice(m_record.session, m_sent_session, [alive = std::weak_ptr<UpstreamStream*>(m_alive)](bool ok) {
        if (auto self = alive.lock(); self && *self != nullptr) (*self)->after_reinit(ok);
      });
      return;
    }
    reconnect_failed(status, net::Headers{});
    return;
  }
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
    end(End::completed, "upstream ended the response");
    return;
  }
  // A connection that brought nothing new and no retry: hint counts as a failed attempt, so a
  // server that accepts and closes at once is backed off (and eventually given up), not
  // hammered. A close after retry: is the 2025-11-25 polling pattern: wait retry, no growth.
  if (!m_progress && !m_saw_retry) m_backoff.failed(now_ms());
  lost(result ? "upstream closed the stream" : result.error().message);
}

void UpstreamStream::client_released() {
  if (!m_paused_for_client) return;
  m_paused_for_client = false;
  if (!m_paused) resume_transfer();
}

void UpstreamStream::pipeline_accepting() {
  m_paused = false;
  if (m_paused_for_client && m_owner.client_holds_upstream()) return;  // still held for the client
  m_paused_for_client = false;
  resume_transfer();
}

void UpstreamStream::resume_transfer() {
  if (m_transfer && !m_transfer->finished() && !m_transfer->cancelled()) m_transfer->resume();
}

void UpstreamStream::lost(std::string_view reason) {
  if (!is_open()) return;
  if (m_record.kind == store::StreamKind::post && !m_owner.awaiting_responses()) {
    end(End::completed, reason);
    return;
  }
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  const bool has_cursor = cursor != nullptr && cursor->last_upstream_id.has_value();
  if (m_record.kind == store::StreamKind::post && !has_cursor && !m_reissue_body) {
    const std::string why = std::string(reason) + "; the server sent no event ids, so the stream cannot be resumed";
    if (!reissue(why)) {
      end(End::not_resumable, why);
      return;
    }
  }
  schedule_reconnect(reason, std::nullopt);
}

void UpstreamStream::reconnect_failed(int status, const net::Headers& headers) {
  ++m_ctx.metrics->reconnects_failed;
  drop_transfer();
  const std::string reason = "upstream answered " + std::to_string(status) +
                             (status == 200 ? " without text/event-stream" : "") + " to the reconnect";
  if (!is_open()) return;
  if (status == 204) {  // EventSource semantics: the server asks the client to stop.
    end(End::completed, reason);
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
  end(End::not_resumable, reason);
}

void UpstreamStream::after_reinit(bool remapped) {
  if (!is_open()) return;
  if (remapped) {
    // Unless reopen_now() already did (the run re-opens the session's GET stream itself).
    if (!m_transfer || m_transfer->finished() || m_transfer->cancelled()) start_reconnect();
    return;
  }
  // The client must re-initialise.
  if (Session* s = m_ctx.sessions->find_any(m_record.session); s != nullptr && s->record.state == store::SessionState::open) {
    s->record.state = store::SessionState::expired;
    m_ctx.pipeline->add_session(s->record);
  }
  end(End::not_resumable, "the upstream session expired (the server does not know it)");
}

void UpstreamStream::reopen_now(std::function<void()> answered) {
  if (!is_open()) {
    answered();
    return;
  }
  m_on_answered = std::move(answered);
  m_reconnect_timer.cancel();
  drop_transfer();
  start_reconnect();
}

void UpstreamStream::answered() {
  if (m_on_answered) std::exchange(m_on_answered, nullptr)();
}

// The session now lives on another upstream session than the one this stream's ids came from
// (a restarted server). False: the stream ended (a POST stream's request was lost).
bool UpstreamStream::switch_upstream_session() {
  Session* s = m_ctx.sessions->find_any(m_record.session);
  if (s == nullptr || m_upstream_session.empty() || m_upstream_session == s->record.upstream_id) {
    if (s != nullptr) m_upstream_session = s->record.upstream_id;
    return true;
  }
  m_upstream_session = s->record.upstream_id;
  if (m_record.kind == store::StreamKind::post) {
    const std::string_view why = "the upstream server restarted and this request was lost with it";
    if (m_reissue_body || reissue(why)) return true;  // start_reconnect() sends it again
    end(End::not_resumable, std::string(why) + "; send it again");
    return false;
  }
  // Nothing of the old server's ids means anything to the new one.
  m_ctx.tracker->restore_stream(m_record.stream, m_record.session, m_ctx.tracker->next_seq(m_record.stream), {}, {});
  m_resume_with_id = true;
  m_backoff.succeeded();
  util::log(LogLevel::info, "upstream_session_switched", {{"stream", m_record.stream}});
  return true;
}

// A POST stream whose request is lost: the owner's body to send it again, if it gives one.
bool UpstreamStream::reissue(std::string_view reason) {
  if (m_record.kind != store::StreamKind::post) return false;
  m_reissue_body = m_owner.reissue_body();
  if (!m_reissue_body) return false;
  // The answer starts again from nothing: none of the lost attempt's ids means anything now.
  m_ctx.tracker->restore_stream(m_record.stream, m_record.session, m_ctx.tracker->next_seq(m_record.stream), {}, {});
  m_resume_with_id = true;
  util::log(LogLevel::info, "request_reissued", {{"stream", m_record.stream}, {"reason", reason}});
  return true;
}

void UpstreamStream::schedule_reconnect(std::string_view reason, std::optional<std::int64_t> retry_after_ms) {
  drop_transfer();
  if (m_backoff.exhausted(now_ms())) {
    ++m_ctx.metrics->reconnects_gave_up;
    util::log(LogLevel::warn, "upstream_gave_up",
              {{"stream", m_record.stream}, {"reason", reason}, {"attempts", m_backoff.failures()}});
    end(End::not_resumable, "reconnect budget (--reconnect-budget) spent: " + std::string(reason));
    return;
  }
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  std::optional<std::uint32_t> retry;
  if (cursor != nullptr && cursor->retry_ms) retry = cursor->retry_ms;
  const bool now_allowed = m_backoff.failures() == 0 && m_ctx.registry->first_resumes().take(m_ctx.clock->mono_ns());
  const std::int64_t delay = m_backoff.next_delay_ms(retry, retry_after_ms, now_allowed);
  util::log(LogLevel::info, "upstream_reconnect",
            {{"stream", m_record.stream}, {"reason", reason}, {"delay_ms", delay}, {"attempt", m_backoff.failures() + 1}});
  m_reconnect_timer.arm_ms(delay);
}

void UpstreamStream::start_reconnect() {
  if (!is_open()) return;
  m_transfer.reset();  // a cancelled transfer not yet destroyed: we are outside its callbacks here
  Session* s = nullptr;
  if (!m_record.session.empty()) {
    s = m_ctx.sessions->find_any(m_record.session);
    if (s == nullptr || s->record.state != store::SessionState::open) {
      end(End::not_resumable, "the session is gone");
      return;
    }
    if (!switch_upstream_session()) return;  // may decide to send a lost request again
  }
  net::UpstreamRequest req;
  req.method = m_reissue_body ? "POST" : "GET";
  req.url = m_ctx.config->upstream.origin() + m_record.target;
  req.headers = m_headers;
  req.headers.set("Accept", m_reissue_body ? "application/json, text/event-stream" : "text/event-stream");
  if (m_reissue_body) {
    req.headers.set("Content-Type", "application/json");
    req.body = *m_reissue_body;
  }
  req.connect_timeout_ms = m_ctx.config->connect_timeout_ms;
  if (s != nullptr) {
    req.headers.set("Mcp-Session-Id", s->record.upstream_id);
    if (!s->record.protocol_version.empty()) req.headers.set("MCP-Protocol-Version", s->record.protocol_version);
    m_sent_session = s->record.upstream_id;
  }
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  m_sent_last_event_id = false;
  if (!m_reissue_body && m_resume_with_id && cursor != nullptr && cursor->last_upstream_id) {
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

void UpstreamStream::end(End how, std::string_view reason) {
  stop();
  m_owner.on_upstream_end(how, reason);
}

void UpstreamStream::stop() {
  m_reconnect_timer.cancel();
  drop_transfer();
  answered();
}

void UpstreamStream::drop_transfer() {
  m_idle_timer.cancel();
  m_transfer_ok = false;
  if (m_transfer) {
    // Safe inside its own callbacks; destroyed by m_cleanup. Stopped inside on_body (a POST's
    // stream complete with its answer), the connection may still serve another request.
    m_transfer->cancel_keeping_connection();
    m_cleanup.fire();
  }
}

void UpstreamStream::check_idle() {
  if (!m_transfer_ok) return;
  const std::int64_t now = m_ctx.clock->mono_ns();
  if (m_paused || m_paused_for_client) {
    // We are not reading: silence is ours, not the upstream's.
    m_idle.reset(now);
    m_idle_timer.arm_ms(m_ctx.config->upstream_idle_timeout_ms);
    return;
  }
  if (const std::int64_t left = m_idle.remaining_ms(now); left > 0) {
    m_idle_timer.arm_ms(left);
    return;
  }
  const std::int64_t idle_ms = m_idle.silent_ns(now) / k_ns_per_ms;
  util::log(LogLevel::warn, "upstream_idle", {{"stream", m_record.stream}, {"idle_ms", idle_ms}});
  drop_transfer();
  lost("upstream silent for " + std::to_string(idle_ms) + " ms");
}

}  // namespace ssestitch::proxy
