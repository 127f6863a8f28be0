#include "core/proxy/exchange.h"

#include <algorithm>
#include <utility>

#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/header_policy.h"
#include "core/proxy/message_observer.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/reinit.h"
#include "core/proxy/retry_policy.h"
#include "core/proxy/session_effects.h"
#include "core/proxy/session_table.h"
#include "core/proxy/standalone_get.h"
#include "core/proxy/stream.h"
#include "core/store/session_store.h"
#include "core/tracker/downstream_id.h"
#include "core/tracker/event_tracker.h"
#include "core/util/clock.h"
#include "core/util/log.h"

namespace ssestitch::proxy {
namespace {
using util::LogLevel;

// A JSON answer larger than this is kept by neither reader: the observers get its size only,
// and a tools/list answer that large is not read for tool annotations.
constexpr std::size_t k_max_kept_answer = 1u << 20;

}  // namespace

Exchange::Exchange(Context& ctx, net::ServerRequest* client, ForwardPlan plan)
    : m_ctx(ctx), m_client(client), m_plan(std::move(plan)),
      m_timer(*ctx.loop, [this] {
        if (m_waiting_get) {
          early_get_answered();
        } else {
          start();
        }
      }),
      m_self(std::make_shared<Exchange*>(this)) {
  if (client != nullptr) client->set_observer(this);
}

void Exchange::adopt_client(net::ServerRequest& client) {
  if (m_client != nullptr) {  // a second GET while the first waits: the newest wins, as on a stream
    m_client->set_observer(nullptr);
    m_client->abort();
  }
  m_client = &client;
  client.set_observer(this);
}

Exchange::~Exchange() {
  *m_self = nullptr;
  if (m_client != nullptr) {
    m_client->set_observer(nullptr);
    m_client->abort();
  }
}

void Exchange::start() {
  if (m_started_ns == 0) m_started_ns = m_ctx.clock->mono_ns();
  if (m_plan.request.method == "DELETE" && !m_close_recorded && !m_plan.session.empty()) {
    // Recorded closed before the server hears of it (exchange.h: Sessions); forwarded once durable.
    Session* s = m_ctx.sessions->find_any(m_plan.session);
    if (s != nullptr && s->record.state == store::SessionState::open) {
      m_close_recorded = true;
      store::SessionRecord closing = s->record;
      closing.state = store::SessionState::closed;
      closing.last_active_ms = m_ctx.clock->wall_ms();
      m_ctx.pipeline->add_session(std::move(closing));
      m_waiting_commit = true;
      m_ctx.pipeline->after_commit([this](bool) {
        m_waiting_commit = false;
        start();
      });
      return;
    }
  }
  m_plan.request.connect_timeout_ms = m_ctx.config->connect_timeout_ms;
  auto t = net::Transfer::start(*m_ctx.upstream, m_plan.request, this);
  if (!t) {
    reply_error(502, t.error().message);
    return;
  }
  m_transfer = std::move(*t);
}

void Exchange::release() {
  if (m_released) return;
  m_released = true;
  if (!m_ended_session) undo_recorded_close();  // a DELETE that got no answer
  m_timer.cancel();
  if (m_on_answered) std::exchange(m_on_answered, nullptr)();
  if (m_plan.standalone) {
    if (Session* s = m_ctx.sessions->find_any(m_plan.session); s != nullptr && s->get_opening == this) {
      s->get_opening = nullptr;
    }
  }
  if (m_stateless) m_stateless->stop();
  if (m_transfer) m_transfer->cancel();
  m_ctx.registry->release(this);
}

void Exchange::reply_error(int status, std::string_view message) {
  if (m_client != nullptr) {
    net::Headers h;
    h.add("Content-Type", "text/plain; charset=utf-8");
    net::ServerRequest* client = m_client;
    m_client = nullptr;
    client->set_observer(nullptr);
    if (client->started()) {
      client->abort();
    } else {
      const std::string body = "ssestitch: " + std::string(message) + "\n";
      m_client_headers = h;
      m_status = status;
      observe_answer(body, body.size(), true);
      client->reply(status, h, body);
    }
  }
  release();
}

void Exchange::apply_session_effects(int status, const net::Headers& headers) {
  const bool ok = status >= 200 && status < 300;
  if (m_plan.initialize && ok && m_plan.era == mcp::Era::sessions) {
    auto upstream_sid = headers.get("Mcp-Session-Id");
    if (upstream_sid && tracker::validate_session_id(*upstream_sid)) {
      m_plan.session = open_session(m_ctx, *upstream_sid, m_plan.request.headers.get("MCP-Protocol-Version").value_or(""),
                                    m_plan.principal, m_plan.request.body, m_plan.upstream_headers)
                           .record.id;
    } else if (upstream_sid) {
      ++m_ctx.metrics->errors["bad_upstream_session_id"];
    }
  }
  if (m_plan.session.empty()) return;
  Session* s = m_ctx.sessions->find_any(m_plan.session);
  if (s == nullptr) return;
  if (ok && !m_plan.rpc_method.empty()) s->setup.accepted(m_plan.rpc_method, m_plan.request.body);
  const bool is_delete = m_plan.request.method == "DELETE";
  if ((is_delete && (ok || status == 404)) || (status == 404 && !m_plan.initialize)) {
    end_session(m_ctx, *s, is_delete ? store::SessionState::closed : store::SessionState::expired);
    m_ended_session = true;
  } else if (is_delete) {
    undo_recorded_close();  // refused: the session goes on
  }
}

bool Exchange::may_be_unknown_session(int status) const {
  return (status == 404 || status == 400) && m_plan.mcp && m_plan.era == mcp::Era::sessions && !m_plan.session.empty() &&
         !m_plan.initialize && m_plan.request.method != "DELETE" && !m_resent && m_ctx.config->reinit;
}

void Exchange::wait_for_reinit() {
  m_check_unknown = false;
  const std::string stale(m_plan.request.headers.get("Mcp-Session-Id").value_or(""));
  m_ctx.reinit->notice(m_plan.session, stale, [self = std::weak_ptr<Exchange*>(m_self)](bool remapped) {
    if (auto p = self.lock(); p && *p != nullptr) (*p)->after_reinit(remapped);
  });
}

void Exchange::after_reinit(bool remapped) {
  if (m_released) return;
  Session* s = m_ctx.sessions->find_any(m_plan.session);
  if (remapped && s != nullptr) {
    // The server never processed this request (it did not know the session): send it again.
    m_plan.request.headers.set("Mcp-Session-Id", s->record.upstream_id);
    m_resent = true;
    m_status = 0;
    m_held_body.clear();
    ++m_ctx.metrics->requests_resent;
    start();
    return;
  }
  // As the server said: the session is gone; the client must re-initialise.
  apply_session_effects(404, net::Headers{});
  if (m_client == nullptr) return release();
  reply_held_after_commit();
}

// No answer at all: the request goes again, within --retry-connect, when that cannot do harm:
// the connection was refused (nothing was sent), or the request is retry-safe (it changes nothing
// on the server, e.g. one whose connection died with a restarting server).
bool Exchange::retry(util::Errc error) {
  const std::int64_t waited_ms = (m_ctx.clock->mono_ns() - m_started_ns) / 1'000'000;
  if (m_client == nullptr || m_status != 0 || waited_ms >= m_ctx.config->retry_connect_ms) return false;
  const bool refused = error == util::Errc::upstream_refused;
  if (!refused && !(error == util::Errc::upstream_protocol && m_plan.mcp && mcp::is_retry_safe(m_plan.rpc_method))) {
    return false;
  }
  const std::int64_t delay_ms = std::min<std::int64_t>(std::int64_t{25} << std::min(m_retries, 5), 500);
  ++m_retries;
  ++(refused ? m_ctx.metrics->retries_refused : m_ctx.metrics->retries_no_answer);
  m_timer.arm_ms(std::min(delay_ms, m_ctx.config->retry_connect_ms - waited_ms));
  return true;
}

void Exchange::on_response(int status, const net::Headers& headers) {
  m_status = status;
  m_ctx.metrics->note_upstream_ok(m_ctx.clock->wall_ms());
  if (m_stateless && m_stateless->reissuing()) return m_stateless->attempt_answered(status, headers);
  const bool sse = net::media_type_is(headers.get("Content-Type").value_or(""), "text/event-stream");
  if (may_be_unknown_session(status)) {
    m_client_headers = client_response_headers(headers, false);
    m_check_unknown = true;  // decided when the body is in (on_done)
    return;
  }
  apply_session_effects(status, headers);
  if (m_plan.initialized && status >= 200 && status < 300 && !sse) {
    // Held until the early GET is answered upstream, so the client's next requests reach the
    // server after the GET stream is in place (proxy/standalone_get.h).
    m_hold = m_waiting_get = true;
    const bool opened = open_standalone_get(m_ctx, m_plan, [self = std::weak_ptr<Exchange*>(m_self)] {
      if (auto p = self.lock(); p && *p != nullptr) (*p)->early_get_answered();
    });
    if (opened && m_waiting_get) m_timer.arm_ms(k_initialized_hold_ms);
    if (!opened) m_hold = m_waiting_get = false;
  }
  m_client_headers = client_response_headers(headers, sse);
  if (!m_plan.session.empty()) {
    if (Session* s = m_ctx.sessions->find_any(m_plan.session); s != nullptr) {
      m_client_headers.set("Mcp-Session-Id", s->record.id);
    }
  } else if (auto sid = headers.get("Mcp-Session-Id"); sid && !m_plan.mcp) {
    m_client_headers.set("Mcp-Session-Id", *sid);  // not our endpoint: not our session either
  }
  if (m_client == nullptr) {
    if (m_plan.standalone && sse && status == 200) {
      become_stream(m_client_headers);  // no client yet: it lingers until one takes it over
      return;
    }
    if (m_plan.standalone) {
      util::log(LogLevel::debug, "early_get_refused", {{"session_prefix", m_plan.session.substr(0, 8)}, {"status", status}});
    }
    m_transfer->cancel();
    release();
    return;
  }
  if (sse && status == 200) {
    if (m_plan.era == mcp::Era::stateless) {
      std::optional<Reissue> reissue;
      if (m_plan.mcp && m_plan.request_ids.size() == 1 && !m_plan.rpc_method.empty()) {
        reissue.emplace(m_plan.request.body, m_plan.request_ids.front(),
                        m_ctx.retry->judge("", m_plan.rpc_method, m_plan.request.body));
      }
      m_stateless = std::make_unique<StatelessAnswer>(m_ctx, static_cast<StatelessAnswer::Owner&>(*this),
                                                      std::move(reissue), m_plan.rpc_method == "tools/list");
      observe_answer({}, 0);
      m_client->start(status, m_client_headers);
      m_stateless->start();
      return;
    }
    become_stream(m_client_headers);
    return;
  }
  if (m_plan.initialize && !m_plan.session.empty()) m_hold = true;  // body held until the session record is durable
  if (changed_session_record()) m_hold = true;  // ... or its end, or a refused DELETE's undoing
  if (!m_hold && m_plan.mcp && mcp::is_retry_safe(m_plan.rpc_method)) m_hold = m_retry_hold = true;
  if (m_hold) return;  // answered whole, later (reply_held)
  m_client->start(status, m_client_headers);
}

void Exchange::become_stream(const net::Headers& client_headers) {
  store::StreamRecord rec;
  rec.stream = m_ctx.store->allocate_stream_number();
  rec.session = m_plan.session;
  rec.principal = m_plan.principal;
  const std::string& method = m_plan.request.method;
  const bool rec_is_post = method == "POST" && m_plan.mcp;
  if (rec_is_post) {
    rec.kind = store::StreamKind::post;
  } else if (method == "GET" && m_plan.mcp && !m_plan.session.empty()) {
    rec.kind = store::StreamKind::get;
  } else {
    rec.kind = store::StreamKind::generic;
  }
  rec.target = m_plan.target;
  rec.next_seq = 1;
  rec.state = store::StreamState::open;
  rec.created_ms = m_ctx.clock->wall_ms();
  rec.last_active_ms = rec.created_ms;
  rec.pending_request_ids = m_plan.request_ids;
  auto opened = m_ctx.registry->open_stream(m_ctx, Opening::fresh, std::move(rec), m_plan.upstream_headers);
  Stream& s = **opened;  // a fresh stream reads nothing from the store
  if (m_client != nullptr) observe_answer({}, 0, false, s.number());  // its events follow, logged
  if (rec_is_post && m_plan.request_ids.size() == 1 && !m_plan.rpc_method.empty()) {
    const auto verdict = m_ctx.retry->judge(m_plan.session, m_plan.rpc_method, m_plan.request.body);
    if (verdict == RetryPolicy::Verdict::reissue) {
      s.allow_reissue(Reissue(m_plan.request.body, m_plan.request_ids.front(), verdict),
                      m_plan.rpc_method == "tools/list");
    }
  }
  s.adopt_upstream(std::move(m_transfer));
  if (net::ServerRequest* client = m_client; client != nullptr) {
    m_client = nullptr;
    client->set_observer(nullptr);
    client->start(200, client_headers);
    s.attach_client(*client, 0);
  } else {
    s.await_client();
  }
  release();
}

net::Transfer::BodyAction Exchange::on_body(std::string_view bytes) {
  if (m_check_unknown) {
    if (m_held_body.size() + bytes.size() <= k_max_refusal_body) m_held_body.append(bytes);
    return net::Transfer::BodyAction::consume;
  }
  if (m_client == nullptr) return net::Transfer::BodyAction::consume;
  if (m_retry_hold && m_held_body.size() + bytes.size() > std::min(k_max_kept_answer, m_ctx.config->max_body_size)) {
    // Too large to hold: passed on as it comes after all, and no longer sent again if cut.
    m_hold = m_retry_hold = false;
    m_client->start(m_status, m_client_headers);
    pass_on(m_held_body);
    m_held_body = std::string();
  }
  if (m_hold) {
    if (m_held_body.size() + bytes.size() > m_ctx.config->max_body_size) {
      m_transfer->cancel();
      reply_error(502, "initialize response larger than --max-body-size");
      return net::Transfer::BodyAction::consume;
    }
    m_held_body.append(bytes);
    return net::Transfer::BodyAction::consume;
  }
  if (m_stateless) {
    if (auto fed = m_stateless->feed(bytes); !fed) {
      m_transfer->cancel();
      reply_error(502, fed.error().message);
      return net::Transfer::BodyAction::consume;
    }
    if (m_client == nullptr) return net::Transfer::BodyAction::consume;  // the answer ended in it
  } else {
    pass_on(bytes);
  }
  if (m_client->backlog() > m_ctx.config->client_buffer) {
    return net::Transfer::BodyAction::pause;  // resumed by on_drained()
  }
  return net::Transfer::BodyAction::consume;
}

void Exchange::on_done(const util::Result<void>& result) {
  if (m_check_unknown) {
    m_check_unknown = false;
    if (result && says_unknown_session(m_status, m_held_body)) return wait_for_reinit();
    // Refused for another reason: passed on as it came (a 404 still ends the session).
    apply_session_effects(m_status, net::Headers{});
    if (m_client == nullptr) return release();
    return changed_session_record() ? reply_held_after_commit() : reply_held();
  }
  if (m_stateless && (result || m_stateless->watched())) return m_stateless->ended(result);
  if (!result && m_retry_hold) {  // cut mid-answer, none of it passed on: as if none had come
    m_status = 0;
    m_held_body.clear();
    m_hold = m_retry_hold = false;
  }
  if (!result && retry(result.error().code)) return;
  if (!result) {
    const bool unreachable = result.error().code == util::Errc::upstream_unreachable ||
                             result.error().code == util::Errc::upstream_refused;
    if (unreachable) m_ctx.metrics->note_upstream_error(m_ctx.clock->wall_ms(), result.error().message);
    ++m_ctx.metrics->errors[std::string(util::to_string(result.error().code))];
    util::log(LogLevel::warn, "upstream_error",
              {{"target", m_plan.target}, {"method", m_plan.rpc_method}, {"message", result.error().message}});
    reply_error(m_status == 0 ? (result.error().code == util::Errc::timeout ? 504 : 502) : 502,
                result.error().message);
    return;
  }
  if (m_retry_hold) {
    learn_tools(m_held_body);
    return reply_held();
  }
  if (m_hold && m_plan.initialized) {
    m_upstream_done = true;
    if (!m_waiting_get) changed_session_record() ? reply_held_after_commit() : reply_held();
    return;
  }
  if (m_hold && m_client != nullptr) {
    // The negotiated revision is in the InitializeResult: record it with the session (inspect
    // shows it; resumes send it as MCP-Protocol-Version).
    if (auto version = mcp::initialize_result_version(m_held_body); version) {
      if (Session* s = m_ctx.sessions->find_any(m_plan.session); s != nullptr && s->record.protocol_version != *version) {
        s->record.protocol_version = *version;
        m_ctx.pipeline->add_session(s->record);
      }
    }
    return reply_held_after_commit();
  }
  const std::string_view kept = m_answer_size <= k_max_kept_answer ? std::string_view(m_answer) : std::string_view();
  learn_tools(kept);
  if (m_client != nullptr) observe_answer(kept, m_answer_size);
  finish_client();
}

void Exchange::pass_on(std::string_view bytes) {
  if (m_plan.rpc_method == "tools/list" || (m_plan.mcp && observing(m_ctx))) {
    m_answer_size += bytes.size();
    if (m_answer_size <= k_max_kept_answer) m_answer.append(bytes);
  }
  m_client->write(bytes);
}

void Exchange::finish_client() {
  if (m_client != nullptr) {
    net::ServerRequest* client = m_client;
    m_client = nullptr;
    client->set_observer(nullptr);
    client->finish();
  }
  release();
}

void Exchange::learn_tools(std::string_view response) {
  if (m_plan.rpc_method != "tools/list" || m_status < 200 || m_status >= 300) return;
  m_ctx.retry->learn_tools(m_plan.era == mcp::Era::stateless ? std::string_view() : m_plan.session, response);
}

void Exchange::answer_write(std::string_view bytes) {
  if (m_client != nullptr) m_client->write(bytes);
}

void Exchange::answer_again(std::string body, std::int64_t delay_ms) {
  m_transfer.reset();  // from on_done: the transfer may be destroyed there
  m_status = 0;
  m_plan.request.body = std::move(body);
  m_timer.arm_ms(delay_ms);
}

void Exchange::observe_answer(std::string_view body, std::size_t size, bool from_proxy, std::uint64_t stream) {
  if (!m_plan.mcp || !observing(m_ctx)) return;
  tape::Message m = to_client(m_plan.session, m_ctx.clock->wall_ms(), m_status,
                              m_client_headers.get("Content-Type").value_or(""), body);
  m.size = size;
  m.from_proxy = from_proxy;
  m.stream = stream;  // seq 0: the status line of the answer that became this stream
  m_ctx.observers->observe(m);
}

void Exchange::reply_held() {
  if (m_client != nullptr) {
    observe_answer(m_held_body, m_held_body.size());
    net::ServerRequest* client = m_client;
    m_client = nullptr;
    client->set_observer(nullptr);
    client->reply(m_status, m_client_headers, m_held_body);
  }
  release();
}

void Exchange::undo_recorded_close() {
  if (!m_close_recorded || m_close_undone) return;
  m_close_undone = true;
  if (Session* s = m_ctx.sessions->find_any(m_plan.session); s != nullptr && s->record.state == store::SessionState::open) {
    m_ctx.pipeline->add_session(s->record);  // open again in the store
  }
}

void Exchange::reply_held_after_commit() {
  m_waiting_commit = true;
  m_ctx.pipeline->after_commit([this](bool) {
    m_waiting_commit = false;
    reply_held();
  });
}

void Exchange::early_get_answered() {
  if (!m_waiting_get) return;
  m_waiting_get = false;
  m_timer.cancel();
  if (m_upstream_done) reply_held();
}

void Exchange::on_client_closed() noexcept {
  m_client = nullptr;
  // Nobody can receive this response any more (and in 2026-07-28 closing is cancellation).
  if (m_transfer) m_transfer->cancel();
  if (!m_waiting_commit) release();
}

void Exchange::on_drained() noexcept {
  if (m_transfer && m_transfer->paused()) m_transfer->resume();
}

void Exchange::shutdown() {
  if (m_transfer) {
    m_transfer->cancel();
    m_transfer.reset();
  }
  reply_error(503, "proxy shutting down");
}

}  // namespace ssestitch::proxy
