#include "core/proxy/stream.h"

#include <algorithm>
#include <vector>

#include "core/mcp/message.h"
#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/message_observer.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/retry_policy.h"
#include "core/sse/writer.h"
#include "core/tracker/downstream_id.h"
#include "core/tracker/event_tracker.h"
#include "core/util/clock.h"
#include "core/util/log.h"

namespace ssestitch::proxy {
namespace {
using util::LogLevel;
}  // namespace

Stream::Stream(Context& ctx, store::StreamRecord record, net::Headers upstream_headers)
    : m_ctx(ctx), m_record(std::move(record)),
      m_upstream(ctx, m_record, std::move(upstream_headers), *this),
      m_relay(ctx, m_record.stream, *this) {
  m_pending.insert(m_record.pending_request_ids.begin(), m_record.pending_request_ids.end());
  m_committed_seq = m_record.next_seq > 0 ? m_record.next_seq - 1 : 0;
}

Stream::~Stream() { m_ctx.tracker->remove_stream(m_record.stream); }

std::uint64_t Stream::last_seq() const {
  const std::uint64_t next = m_ctx.tracker->next_seq(m_record.stream);
  return next > 0 ? next - 1 : m_committed_seq;  // 0: not tracked (a finished stream being replayed)
}

std::optional<std::uint64_t> Stream::final_seq() const noexcept {
  if (is_open()) return std::nullopt;
  return m_final_seq.value_or(m_committed_seq);
}

bool Stream::collectable() const noexcept {
  return !is_open() && !m_relay.attached() && m_outbox.empty() && !m_upstream.has_transfer() &&
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
  r.last_active_ms = m_ctx.clock->wall_ms();
  m_record.upstream_last_id = r.upstream_last_id;
  m_record.has_upstream_id = r.has_upstream_id;
  m_record.next_seq = r.next_seq;
  return r;
}

void Stream::recover(std::uint64_t recovered_seq) {
  m_committed_seq = recovered_seq;
  m_relay.set_sent(recovered_seq);
  m_relay.linger();
  resume_upstream();
}

void Stream::resume_upstream() {
  const tracker::Cursor* cursor = m_ctx.tracker->cursor(m_record.stream);
  const bool has_cursor = cursor != nullptr && cursor->last_upstream_id.has_value();
  if (m_record.kind == store::StreamKind::post && !has_cursor) {
    end_not_resumable("proxy restarted and the stream has no upstream event id to resume from");
    return;
  }
  util::log(LogLevel::info, "stream_recovered",
            {{"stream", m_record.stream}, {"kind", store::to_string(m_record.kind)}, {"next_seq", m_record.next_seq}});
  m_upstream.recover();
}

bool Stream::on_upstream_block(const sse::Event& ev, std::int64_t arrival_ms) {
  const std::uint64_t no = m_record.stream;
  if (ev.retry) {
    m_ctx.tracker->note_retry(no, *ev.retry);
    m_ctx.pipeline->mark_dirty(no);
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
    if (!id || id->empty()) return false;
    const bool fresh = m_ctx.tracker->observe_id_only(no, *id) == tracker::Verdict::fresh;
    ++m_ctx.metrics->priming_events;
    m_ctx.pipeline->mark_dirty(no);
    return fresh;
  }
  std::string_view data = ev.data;
  if (m_reissue) {
    const Reissue::Pass pass = m_reissue->filter(data, m_mapped);
    if (pass == Reissue::Pass::drop) {
      if (id) {  // the cursor still moves past it
        m_ctx.tracker->observe_id_only(no, *id);
        m_ctx.pipeline->mark_dirty(no);
      }
      ++m_ctx.metrics->progress_suppressed;
      return false;
    }
    if (pass == Reissue::Pass::answer && m_learn_tools) m_ctx.retry->learn_tools(m_record.session, data);
    if (!m_mapped.empty()) data = m_mapped;
  }
  const tracker::Observation obs = m_ctx.tracker->observe(no, id);
  if (obs.verdict == tracker::Verdict::duplicate) {
    ++m_ctx.metrics->events_deduplicated;
    return false;
  }
  if (obs.gap) {
    ++m_ctx.metrics->gaps;
    m_ctx.metrics->gap_events += *obs.gap;
    util::log(LogLevel::warn, "upstream_gap", {{"stream", no}, {"missing", *obs.gap}});
  }
  ++m_ctx.metrics->events_received;
  store::EventRecord rec;
  rec.stream = no;
  rec.seq = obs.seq;
  rec.upstream_id = std::string(id.value_or(""));
  rec.type = ev.type;
  rec.data = std::string(data);
  rec.arrival_ms = arrival_ms;
  sse::append_event(m_outbox.buffer(),
                    sse::OutEvent{tracker::format_downstream_id({no, obs.seq}), ev.type, data, std::nullopt});
  m_outbox.end_event(obs.seq);
  observe(obs.seq, rec.arrival_ms, data, false);
  m_ctx.pipeline->add_event(std::move(rec));
  // The store advances the stream's record (next seq, cursor) with the event itself; what the
  // event does not carry makes the stream dirty: a reset cursor, a change of pending ids.
  if (id && id->empty()) m_ctx.pipeline->mark_dirty(no);

  if (m_record.kind == store::StreamKind::post && !m_pending.empty()) {
    bool answered = false;
    for (const std::string& rid : mcp::response_ids(data)) answered |= m_pending.erase(rid) != 0;
    if (answered) m_ctx.pipeline->mark_dirty(no);
    if (m_pending.empty()) {
      // Every request of the POST has its response: the stream is complete (the SDK server
      // may keep a resumed stream open forever, so we do not wait for its EOF).
      finish(store::StreamState::completed, obs.seq);
    }
  }
  return true;
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
  rec.arrival_ms = m_ctx.clock->wall_ms();
  sse::append_event(m_outbox.buffer(),
                    sse::OutEvent{tracker::format_downstream_id({no, obs.seq}), type, data, std::nullopt});
  m_outbox.end_event(obs.seq);
  observe(obs.seq, rec.arrival_ms, data, true);
  m_ctx.pipeline->add_event(std::move(rec));
  if (upstream_id && upstream_id->empty()) m_ctx.pipeline->mark_dirty(no);  // as in on_upstream_block()
  return obs.seq;
}

void Stream::observe(std::uint64_t seq, std::int64_t arrival_ms, std::string_view data, bool from_proxy) {
  if (!stateful_mcp() || !observing(m_ctx)) return;
  // The logged event's own time: `inspect messages` shows it from the log, the tap must agree.
  tape::Message m = to_client(m_record.session, arrival_ms, 0, {}, data);
  m.stream = m_record.stream;
  m.seq = seq;
  m.from_proxy = from_proxy;
  m_ctx.observers->observe(m);
}

std::optional<std::string> Stream::reissue_body() {
  if (!m_reissue || !m_reissue->allowed() || m_pending.empty() || m_reissue->attempts() >= Reissue::k_max_attempts) {
    return std::nullopt;
  }
  ++m_ctx.metrics->reissues;
  return m_reissue->next_body();
}

void Stream::on_upstream_end(UpstreamStream::End end, std::string_view reason) {
  if (!is_open()) return;
  if (end == UpstreamStream::End::not_resumable) {
    end_not_resumable(reason);
    return;
  }
  util::log(LogLevel::info, "stream_completed", {{"stream", m_record.stream}, {"reason", reason}});
  finish(store::StreamState::completed, last_seq());
}

void Stream::end_not_resumable(std::string_view reason) {
  if (!is_open()) return;
  m_upstream.stop();
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
    finish(store::StreamState::completed, last_seq());
    return;
  }
  util::log(LogLevel::warn, "stream_ended", {{"stream", m_record.stream}, {"reason", reason}});
  finish(store::StreamState::abandoned, last_seq());
}

void Stream::finish(store::StreamState state, std::optional<std::uint64_t> final_seq) {
  m_record.state = state;
  m_final_seq = final_seq;
  m_upstream.stop();
  m_relay.stop_linger();
  m_ctx.pipeline->mark_dirty(m_record.stream);
  m_relay.maybe_finish();
  m_ctx.registry->collect_soon();
}

void Stream::on_committed(std::uint64_t upto_seq, bool durable) {
  (void)durable;  // degraded: forwarded anyway (the proxy keeps forwarding; counted by the pipeline)
  if (upto_seq > m_committed_seq) m_committed_seq = upto_seq;
  m_relay.deliver(m_outbox, m_committed_seq);
  m_relay.maybe_finish();
  if (collectable()) m_ctx.registry->collect_soon();
}

void Stream::on_fenced() {
  if (m_follower && m_follower->running()) return;  // already following (a later batch's refusal)
  util::log(LogLevel::warn, "stream_fenced", {{"stream", m_record.stream}, {"committed_seq", m_committed_seq}});
  m_upstream.stop();
  m_outbox.clear();  // never forwarded: the new owner numbers its own events from committed_seq + 1
  follow();
  m_relay.catch_up();
}

void Stream::follow() {
  StreamFollower::Owner& owner = *this;
  m_follower = std::make_unique<StreamFollower>(m_ctx, m_record.stream, owner);
  m_follower->start();
  util::log(LogLevel::info, "stream_followed", {{"stream", m_record.stream}});
}

bool Stream::followed(const store::StreamRecord& rec) {
  if (rec.next_seq > 0 && rec.next_seq - 1 > m_committed_seq) {
    m_committed_seq = rec.next_seq - 1;
    m_relay.catch_up();
  }
  if (rec.state == store::StreamState::open) return true;
  // Its proxy finished it: end the client's response here too once it has everything. The
  // state changes in memory only (the record is that proxy's).
  m_record.state = rec.state;
  m_final_seq = m_committed_seq;
  m_relay.stop_linger();
  m_relay.maybe_finish();
  m_ctx.registry->collect_soon();
  return false;
}

void Stream::owner_gone() {
  // Read the record again now that it is ours: cursor, next seq and dedup window as a proxy
  // restarted on the store would (Registry::restore_tracker), then read the upstream.
  auto rec = m_ctx.store->stream(m_record.stream);
  if (rec && *rec && (**rec).state != store::StreamState::open) {
    followed(**rec);  // it ended meanwhile
    return;
  }
  util::Result<void> restored = !rec    ? util::Result<void>(rec.error())
                                : !*rec ? util::Result<void>(util::fail(util::Errc::not_found, "the record is gone"))
                                        : restore_tracker(m_ctx, **rec);
  if (!restored) {
    // Neither followed nor read: cut the client, who resumes (here or elsewhere) from the log.
    util::log(LogLevel::error, "stream_take_over_failed",
              {{"stream", m_record.stream}, {"message", restored.error().message}});
    m_record.state = store::StreamState::abandoned;  // here only: nothing is written
    m_relay.detach(true);
    m_ctx.registry->collect_soon();
    return;
  }
  m_record = **rec;
  m_pending.clear();
  m_pending.insert(m_record.pending_request_ids.begin(), m_record.pending_request_ids.end());
  m_committed_seq = m_record.next_seq - 1;
  util::log(LogLevel::info, "stream_taken_over", {{"stream", m_record.stream}});
  m_relay.catch_up();
  resume_upstream();
}

void Stream::linger_expired() {
  if (!is_open()) return;
  if (m_follower && m_follower->running()) {
    // No client any more: stop following; the stream stays its proxy's.
    m_follower->stop();
    m_record.state = store::StreamState::abandoned;  // here only: nothing is written
    m_ctx.registry->collect_soon();
    return;
  }
  ++m_ctx.metrics->streams_lingered_out;
  util::log(LogLevel::info, "stream_lingered_out", {{"stream", m_record.stream}, {"linger_ms", m_ctx.config->linger_ms}});
  finish(store::StreamState::abandoned, last_seq());
}

void Stream::shutdown() {
  if (m_follower) m_follower->stop();
  m_upstream.stop();
  m_relay.detach(false);
  m_relay.stop_linger();
}

void Stream::end_session() {
  if (!is_open()) return;
  finish(store::StreamState::completed, last_seq());
}

}  // namespace ssestitch::proxy
