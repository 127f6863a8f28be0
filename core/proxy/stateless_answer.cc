#include "core/proxy/stateless_answer.h"

#include "core/mcp/message.h"
#include "core/net/upstream_client.h"
#include "core/proxy/config.h"
#include "core/proxy/message_observer.h"
#include "core/proxy/metrics.h"
#include "core/proxy/retry_policy.h"
#include "core/sse/writer.h"
#include "core/util/clock.h"
#include "core/util/log.h"
#include "core/util/random.h"

namespace ssestitch::proxy {
namespace {
using util::LogLevel;
}  // namespace

StatelessAnswer::StatelessAnswer(Context& ctx, Owner& owner, std::optional<Reissue> reissue, bool learn_tools)
    : m_ctx(ctx), m_owner(owner), m_reissue(std::move(reissue)), m_learn_tools(learn_tools),
      m_parser(ctx.config->sse_limits),
      m_keepalive(ctx, [this](std::string_view bytes) { m_owner.answer_write(bytes); }) {}

void StatelessAnswer::start() { m_keepalive.start(); }

void StatelessAnswer::attempt_answered(int status, const net::Headers& headers) {
  if (status == 200 && net::media_type_is(headers.get("Content-Type").value_or(""), "text/event-stream")) {
    m_attempt = Attempt::sse;
    m_parser.reset();  // the new attempt starts at an event boundary
    if (m_reissue->listen()) m_backoff->succeeded();  // a listen that opens again is healthy
    return;
  }
  // A JSON answer is read whole and delivered as one event; an error status is a failed
  // attempt (its body is not the client's answer).
  m_attempt = status >= 200 && status < 300 ? Attempt::json : Attempt::refused;
  m_json.clear();
  if (m_attempt == Attempt::refused) util::log(LogLevel::warn, "reissue_refused", {{"status", status}});
}

util::Result<void> StatelessAnswer::feed(std::string_view bytes) {
  if (m_attempt == Attempt::refused) return {};
  if (m_attempt == Attempt::json) {
    if (m_json.size() + bytes.size() > m_ctx.config->max_body_size) {
      lost("the re-issued request's answer is larger than --max-body-size");
      return {};
    }
    m_json.append(bytes);
    return {};
  }
  m_out.clear();
  auto fed = m_parser.feed(bytes, [this](const sse::Event& ev) { pass(ev); });
  if (!m_out.empty()) {
    m_owner.answer_write(m_out);
    m_keepalive.wrote();
  }
  return fed;
}

void StatelessAnswer::observe(std::string_view data, bool from_proxy) {
  if (!observing(m_ctx)) return;
  tape::Message m = to_client({}, m_ctx.clock->wall_ms(), 0, {}, data);
  m.from_proxy = from_proxy;
  m_ctx.observers->observe(m);
}

// One complete event, from any attempt, filtered by the Reissue when there is one.
void StatelessAnswer::pass(const sse::Event& ev) {
  if (!m_reissue || !ev.dispatch) {
    if (ev.dispatch) observe(ev.data, false);
    m_out.append(ev.raw);
    return;
  }
  const Reissue::Pass pass = m_reissue->filter(ev.data, m_mapped);
  if (pass == Reissue::Pass::drop) {
    ++m_ctx.metrics->progress_suppressed;
    return;
  }
  if (pass == Reissue::Pass::answer && m_learn_tools) m_ctx.retry->learn_tools("", ev.data);
  observe(m_mapped.empty() ? std::string_view(ev.data) : m_mapped, false);
  if (m_mapped.empty()) {
    m_out.append(ev.raw);
  } else {
    sse::append_event(m_out, sse::OutEvent{ev.id.value_or(""), ev.type, m_mapped, ev.retry});
  }
}

void StatelessAnswer::ended(const util::Result<void>& result) {
  if (!m_reissue) return m_owner.answer_done();  // not watched: the server ended it
  if (m_attempt == Attempt::json && result) {
    m_out.clear();
    if (m_reissue->filter(m_json, m_mapped) != Reissue::Pass::drop) {
      observe(m_mapped.empty() ? m_json : m_mapped, false);
      sse::append_event(m_out, sse::OutEvent{"", "", m_mapped.empty() ? m_json : m_mapped, std::nullopt});
      m_owner.answer_write(m_out);
    }
    m_json.clear();
  }
  if (m_reissue->answered()) return m_owner.answer_done();
  // Before the response: the answer is lost with this attempt.
  const std::string why = result ? std::string("the answer stream ended before the response")
                                 : "the answer stream broke: " + result.error().message;
  const std::int64_t now = m_ctx.clock->mono_ns() / 1'000'000;
  if (!m_backoff) {
    m_backoff.emplace(m_ctx.config->reconnect_base_ms, m_ctx.config->reconnect_cap_ms,
                      m_ctx.config->reconnect_budget_ms, util::random_seed());
  }
  m_backoff->failed(now);
  if (!m_reissue->allowed()) {
    ++m_ctx.metrics->answers_lost;
    return lost(why + "; the request was not sent again: it may not be safe to repeat (--retry-tools)");
  }
  if (m_backoff->exhausted(now) || (!m_reissue->listen() && m_reissue->attempts() >= Reissue::k_max_attempts)) {
    ++m_ctx.metrics->reissues_gave_up;
    return lost(why + "; sent again " + std::to_string(m_reissue->attempts()) + " times, giving up");
  }
  m_reissuing = true;
  m_attempt = Attempt::sse;
  ++m_ctx.metrics->reissues;
  std::string body = m_reissue->next_body();
  util::log(LogLevel::info, "request_reissued", {{"attempt", m_reissue->attempts()}, {"reason", why}});
  m_owner.answer_again(std::move(body), m_backoff->next_delay_ms(std::nullopt, std::nullopt));
}

void StatelessAnswer::lost(std::string_view why) {
  util::log(LogLevel::warn, "answer_lost", {{"reason", why}});
  m_out.clear();
  const std::string error = mcp::error_response(m_reissue->client_id(), mcp::k_error_upstream_lost, "ssestitch: " + std::string(why));
  observe(error, true);
  sse::append_event(m_out, sse::OutEvent{"", "", error, std::nullopt});
  m_owner.answer_write(m_out);
  ++m_ctx.metrics->pending_errors_sent;
  m_owner.answer_done();
}

}  // namespace ssestitch::proxy
