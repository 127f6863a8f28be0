#include "core/proxy/router.h"

#include <algorithm>

#include "core/mcp/message.h"
#include "core/proxy/access.h"
#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/exchange.h"
#include "core/proxy/header_policy.h"
#include "core/proxy/message_observer.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/session_table.h"
#include "core/proxy/stream.h"
#include "core/store/session_store.h"
#include "core/tracker/downstream_id.h"
#include "core/tracker/event_tracker.h"
#include "core/util/clock.h"
#include "core/util/log.h"

namespace ssestitch::proxy {
namespace {

using util::LogLevel;

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool accepts_sse(const net::Headers& headers) {
  auto accept = headers.get("Accept");
  return accept && accept->find("text/event-stream") != std::string_view::npos;
}

}  // namespace

bool Router::is_mcp_path(std::string_view path) const {
  const std::string& endpoint = m_ctx.config->upstream.path;
  return endpoint == "/" || path == endpoint;
}

void Router::refuse(net::ServerRequest& request, int status, std::string_view message, bool json_rpc) {
  net::Headers h;
  std::string body;
  if (json_rpc) {
    h.add("Content-Type", "application/json");
    body = mcp::error_response(
        "null", status == 404 ? mcp::k_error_session_not_found : mcp::k_error_invalid_request, message);
  } else {
    h.add("Content-Type", "text/plain; charset=utf-8");
    body = "ssestitch: " + std::string(message) + "\n";
  }
  if (status == 401) h.add("WWW-Authenticate", "Bearer realm=\"ssestitch\"");
  if (m_observing) {
    if (!m_request_observed) observe_request(request, {});
    tape::Message m = to_client(m_observed_session, m_ctx.clock->wall_ms(), status, h.get("Content-Type").value_or(""), body);
    m.from_proxy = true;
    m_ctx.observers->observe(m);
  }
  request.reply(status, h, body);
}

void Router::observe_request(const net::ServerRequest& request, std::string_view session) {
  tape::Message m;
  m.session = session;
  m.time_ms = m_ctx.clock->wall_ms();
  m.http_method = request.method();
  m.body = request.body();
  m_ctx.observers->observe(m);
  m_request_observed = true;
  m_observed_session = std::string(session);
}

void Router::handle(net::ServerRequest& request) {
  ++m_ctx.metrics->requests;
  const bool mcp_path = is_mcp_path(request.path());
  m_observing = mcp_path && observing(m_ctx);
  m_request_observed = false;
  m_observed_session.clear();
  if (!admit(request, mcp_path)) return;
  const std::string principal = principal_of(request.headers());
  const mcp::Era era = mcp::era_of(request.headers().get("MCP-Protocol-Version").value_or(""));
  Session* session = nullptr;
  if (era == mcp::Era::sessions && !map_session(request, mcp_path, principal, session)) return;
  const std::string session_id = session != nullptr ? session->record.id : std::string();
  if (m_observing) observe_request(request, session_id);
  if (request.method() == "GET" && era == mcp::Era::sessions) {
    if (auto last = request.headers().get("Last-Event-ID"); last && !last->empty()) {
      resume(request, *last, session_id, principal);
      return;
    }
    if (mcp_path && take_over_get_stream(request, session)) return;
  }
  if (request.method() == "GET" && mcp_path && session != nullptr) session->client_opened_get = true;
  auto exchange = std::make_unique<Exchange>(m_ctx, &request, plan_forward(request, mcp_path, era, session, principal));
  m_ctx.registry->add(std::move(exchange)).start();
}

bool Router::admit(net::ServerRequest& request, bool mcp_path) {
  const Config& cfg = *m_ctx.config;
  const net::Headers& headers = request.headers();
  if (!host_allowed(cfg, headers.get("Host"))) {
    ++m_ctx.metrics->rejected_host;
    refuse(request, 403, "Host not allowed (see --allow-host)", mcp_path);
    return false;
  }
  if (auto origin = headers.get("Origin"); origin && !origin_allowed(cfg, *origin)) {
    ++m_ctx.metrics->rejected_origin;
    refuse(request, 403, "Origin not allowed (see --allow-origin)", mcp_path);
    return false;
  }
  if (!cfg.require_token.empty()) {
    auto auth = headers.get("Authorization");
    if (!auth || !constant_time_equal(*auth, "Bearer " + cfg.require_token)) {
      ++m_ctx.metrics->rejected_auth;
      refuse(request, 401, "missing or wrong bearer token", false);
      return false;
    }
  }
  return true;
}

bool Router::map_session(net::ServerRequest& request, bool mcp_path, const std::string& principal, Session*& session) {
  session = nullptr;
  auto sid = request.headers().get("Mcp-Session-Id");
  if (!sid) return true;
  if (!tracker::validate_session_id(*sid)) {
    refuse(request, 400, "malformed Mcp-Session-Id", mcp_path);
    return false;
  }
  session = m_ctx.sessions->find(*sid, principal);
  if (session == nullptr && mcp_path && m_ctx.sessions->find_any(*sid) == nullptr) {
    // Not known here: another proxy sharing the store may have created it (RedisStore).
    auto stored = m_ctx.store->session(*sid);
    if (!stored) {
      util::log(LogLevel::error, "store_read_failed", {{"message", stored.error().message}});
      refuse(request, 503, "store unavailable", true);
      return false;
    }
    if (*stored && (*stored)->state == store::SessionState::open && (*stored)->principal == principal) {
      session = &m_ctx.sessions->adopt(std::move(**stored));
      util::log(LogLevel::info, "session_adopted", {{"session", session->record.id}});
    }
  }
  if (session == nullptr) {
    if (!mcp_path) return true;  // not our endpoint: the header is passed on as it is
    ++m_ctx.metrics->unknown_session;
    refuse(request, 404, "Session not found", true);
    return false;
  }
  session->record.last_active_ms = m_ctx.clock->wall_ms();
  const std::string_view version = request.headers().get("MCP-Protocol-Version").value_or("");
  if (!version.empty() && version != session->record.protocol_version) {
    session->record.protocol_version = std::string(version);
    m_ctx.pipeline->add_session(session->record);
  }
  return true;
}

bool Router::take_over_get_stream(net::ServerRequest& request, Session* session) {
  if (session == nullptr || !accepts_sse(request.headers())) return false;
  if (session->get_opening != nullptr) {
    // The proxy's early GET is on its way: this client gets its answer (proxy/standalone_get.h).
    session->get_opening->adopt_client(request);
    return true;
  }
  if (!session->get_stream) return take_over_stored_get_stream(request, *session);
  Stream* s = m_ctx.registry->find(*session->get_stream);
  if (s == nullptr || !s->is_open() || s->has_client()) return false;
  ++m_ctx.metrics->resumes_served;
  util::log(LogLevel::info, "get_stream_taken_over", {{"stream", s->number()}});
  // A stream the proxy opened early is new to its first client: all of it. A stream whose
  // client left: live from now on (this client did not ask for a replay: no Last-Event-ID).
  s->attach_client(request, s->had_client() ? m_ctx.tracker->next_seq(s->number()) - 1 : 0);
  return true;
}

bool Router::take_over_stored_get_stream(net::ServerRequest& request, Session& session) {
  auto streams = m_ctx.store->streams(session.record.id);
  if (!streams) {
    util::log(LogLevel::error, "store_read_failed", {{"message", streams.error().message}});
    refuse(request, 503, "store unavailable", true);
    return true;
  }
  auto get = std::find_if(streams->rbegin(), streams->rend(), [&](const store::StreamRecord& r) {
    return r.kind == store::StreamKind::get && r.state == store::StreamState::open &&
           m_ctx.registry->find(r.stream) == nullptr;
  });
  if (get == streams->rend()) return false;
  Stream* s = open_stored_stream(request, *get);
  if (s == nullptr) return true;
  ++m_ctx.metrics->resumes_served;
  util::log(LogLevel::info, "get_stream_taken_over", {{"stream", s->number()}, {"followed", s->following()}});
  s->attach_client(request, get->retained.events > 0 ? get->retained.first_seq - 1 : get->next_seq - 1);
  return true;
}

Stream* Router::open_stored_stream(net::ServerRequest& request, const store::StreamRecord& record) {
  auto mine = m_ctx.store->claim(record.stream);
  if (!mine) {
    util::log(LogLevel::error, "store_read_failed", {{"message", mine.error().message}});
    refuse(request, 503, "store unavailable", false);
    return nullptr;
  }
  auto opened = m_ctx.registry->open_stream(m_ctx, *mine ? Opening::recovered : Opening::follow, record);
  if (!opened) {
    util::log(LogLevel::error, "store_read_failed", {{"message", opened.error().message}});
    refuse(request, 503, "store unavailable", false);
    return nullptr;
  }
  if (*mine) util::log(LogLevel::info, "stream_taken_over", {{"stream", record.stream}});
  else ++m_ctx.metrics->resumes_followed;
  return *opened;
}

ForwardPlan Router::plan_forward(const net::ServerRequest& request, bool mcp_path, mcp::Era era,
                                 const Session* session, const std::string& principal) const {
  const Config& cfg = *m_ctx.config;
  const net::Headers& headers = request.headers();
  auto sid = headers.get("Mcp-Session-Id");
  ForwardPlan plan;
  plan.mcp = mcp_path;
  plan.era = era;
  plan.session = session != nullptr ? session->record.id : std::string();
  plan.principal = principal;
  plan.target = std::string(request.target());
  plan.upstream_headers = upstream_request_headers(headers, !cfg.require_token.empty());
  plan.request.method = std::string(request.method());
  plan.request.url = cfg.upstream.origin() + plan.target;
  plan.request.headers = plan.upstream_headers;
  plan.request.body = std::string(request.body());
  if (session != nullptr) {
    plan.request.headers.set("Mcp-Session-Id", session->record.upstream_id);
  } else if (sid && !mcp_path && era == mcp::Era::sessions && net::is_safe_header_value(*sid)) {
    // Not an MCP endpoint: the header is not ours to map. (In the 2026-07-28 era there are no
    // sessions: it is dropped.)
    plan.request.headers.set("Mcp-Session-Id", *sid);
  }
  if (request.method() == "POST" && mcp_path) {
    if (auto body = mcp::classify_post(request.body())) {
      plan.request_ids = body->request_ids();
      if (body->messages.size() == 1) plan.rpc_method = body->messages[0].method;
      if (era == mcp::Era::sessions) {
        plan.initialize = session == nullptr && !sid && body->has_initialize();
        plan.initialized = session != nullptr && body->has_initialized();
      }
    }
    // Bodies that are not JSON-RPC are forwarded untouched: the proxy is not a validator.
  }
  return plan;
}

void Router::resume(net::ServerRequest& request, std::string_view last_event_id, const std::string& session,
                    const std::string& principal) {
  Metrics& metrics = *m_ctx.metrics;
  auto id = tracker::parse_downstream_id(last_event_id);
  if (!id) {
    ++metrics.resumes_refused_malformed;
    refuse(request, 400, "Last-Event-ID is not an event id issued by this proxy (<stream>-<seq>)", false);
    return;
  }
  Stream* live = m_ctx.registry->find(id->stream);
  std::optional<store::StreamRecord> record;
  if (live != nullptr) {
    record = live->snapshot();
  } else if (auto stored = m_ctx.store->stream(id->stream); stored) {
    record = std::move(*stored);
  } else {
    util::log(LogLevel::error, "store_read_failed", {{"message", stored.error().message}});
    refuse(request, 503, "store unavailable", false);
    return;
  }
  // Unknown, another session's, or another principal's: the same answer, so ids cannot be probed.
  const bool visible = record && record->session == session &&
                       (record->principal == principal || !record->session.empty()) &&
                       id->seq < record->next_seq;
  if (!visible) {
    ++metrics.resumes_refused_unknown;
    util::log(LogLevel::info, "resume_refused", {{"reason", "unknown"}, {"stream", id->stream}});
    refuse(request, 404, "no such event id for this session", false);
    return;
  }
  std::uint64_t after = id->seq;
  const store::Retained& kept = record->retained;
  const std::uint64_t oldest_available = kept.events > 0 ? kept.first_seq : record->next_seq;
  if (after + 1 < oldest_available && (kept.evicted > 0 || kept.events > 0)) {
    if (!m_ctx.config->on_gap_oldest) {
      ++metrics.resumes_refused_evicted;
      util::log(LogLevel::info, "resume_refused", {{"reason", "evicted"}, {"stream", id->stream}, {"seq", id->seq}});
      refuse(request, 410, "the events after this id were removed by retention (--on-gap=oldest resumes from the oldest kept)", false);
      return;
    }
    after = oldest_available - 1;
  }
  if (live == nullptr && record->state == store::StreamState::open && record->kind != store::StreamKind::tape) {
    // Open, but not read here: its proxy (sharing the store) died, or still runs.
    live = open_stored_stream(request, *record);
    if (live == nullptr) return;
  }
  if (live == nullptr) live = *m_ctx.registry->open_stream(m_ctx, Opening::replay, *record);
  ++metrics.resumes_served;
  util::log(LogLevel::info, "resume_served", {{"stream", id->stream}, {"after", after}});
  live->attach_client(request, after);
}

}  // namespace ssestitch::proxy
