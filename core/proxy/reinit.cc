#include "core/proxy/reinit.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "core/mcp/message.h"
#include "core/net/upstream_client.h"
#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/session_table.h"
#include "core/proxy/stream.h"
#include "core/sse/parser.h"
#include "core/util/log.h"

namespace ssestitch::proxy {
namespace {

using util::LogLevel;

// The largest answer a step reads (an InitializeResult is a few KB).
constexpr std::size_t k_max_answer_bytes = 1u << 20;

// The protocolVersion of an InitializeResult sent as JSON or as SSE events.
std::optional<std::string> answered_version(std::string_view body, bool sse) {
  if (!sse) return mcp::initialize_result_version(body);
  std::optional<std::string> version;
  sse::Parser parser({}, sse::Raw::drop);
  (void)parser.feed(body, [&](const sse::Event& ev) {
    if (!version && ev.dispatch) version = mcp::initialize_result_version(ev.data);
  });
  return version;
}

bool names_session(std::string_view body) {
  constexpr std::string_view word = "session";
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::search(body.begin(), body.end(), word.begin(), word.end(),
                     [&](char a, char b) { return lower(a) == b; }) != body.end();
}

}  // namespace

bool says_unknown_session(int status, std::string_view body) {
  if (status == 404) return body.find_first_not_of(" \t\r\n") == std::string_view::npos || names_session(body);
  return status == 400 && names_session(body);
}

// One re-initialisation of one session: its steps one after the other, then the GET stream.
class Reinitializer::Run final : private net::Transfer::Observer {
 public:
  Run(Context& ctx, Session& session, std::function<void()> ended)
      : m_ctx(ctx), m_session(session.record.id), m_ended(std::move(ended)),
        m_advance(*ctx.loop, [this] { advance(); }),
        m_advance_after_get(*ctx.loop, [this] { get_answered(); }),
        m_hold(*ctx.loop, [this] {
          // What the server sends on the GET stream before it is attached again may be lost.
          util::log(LogLevel::warn, "reinit_get_unanswered",
                    {{"session_prefix", m_session.substr(0, 8)}, {"waited_ms", k_reinit_get_hold_ms}});
          get_answered();
        }) {
    const SessionSetup& setup = session.setup;
    m_steps.push_back(setup.initialize);
    m_sends_initialized = setup.initialized;
    if (setup.initialized) m_steps.emplace_back(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
    m_remap_at = m_steps.size();
    if (!setup.log_level.empty()) m_steps.push_back(setup.log_level);
    for (const auto& [uri, body] : setup.subscriptions) m_steps.push_back(body);
  }
  ~Run() { *m_alive = nullptr; }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  void add(Done done) { m_waiters.push_back(std::move(done)); }
  void start() { next(); }
  bool ended() const noexcept { return m_result.has_value(); }
  bool remapped() const noexcept { return m_result.value_or(false); }
  std::vector<Done> take_waiters() { return std::move(m_waiters); }

 private:
  void on_response(int status, const net::Headers& headers) override {
    m_status = status;
    m_sse = net::media_type_is(headers.get("Content-Type").value_or(""), "text/event-stream");
    if (m_step == 0) m_new_id = std::string(headers.get("Mcp-Session-Id").value_or(""));
  }

  net::Transfer::BodyAction on_body(std::string_view bytes) override {
    if (m_body.size() + bytes.size() <= k_max_answer_bytes) m_body.append(bytes);
    // An initialize answered on an SSE stream that stays open: the answer is all we need.
    if (m_step == 0 && m_sse && answered_version(m_body, true)) {
      m_transfer->cancel();
      step_done(true);
    }
    return net::Transfer::BodyAction::consume;
  }

  void on_done(const util::Result<void>& result) override {
    if (!result) util::log(LogLevel::warn, "reinit_step_failed", {{"step", m_step}, {"message", result.error().message}});
    step_done(static_cast<bool>(result));
  }

  // The current step's answer is complete (ok: its transfer ended well); the next step starts
  // later in this loop iteration, outside libcurl's callbacks.
  void step_done(bool ok) {
    m_step_ok = ok;
    m_advance.fire();
  }

  Session* session() const { return m_ctx.sessions->find_any(m_session); }

  void next() {
    Session* s = session();
    if (s == nullptr || s->record.state != store::SessionState::open) return end(false);
    net::UpstreamRequest req;
    req.method = "POST";
    req.url = m_ctx.config->upstream.origin() + m_ctx.config->upstream.path;
    req.headers = s->setup.headers;
    req.headers.set("Content-Type", "application/json");
    req.headers.set("Accept", "application/json, text/event-stream");
    if (m_step > 0) {
      req.headers.set("Mcp-Session-Id", m_new_id);
      if (!s->record.protocol_version.empty()) req.headers.set("MCP-Protocol-Version", s->record.protocol_version);
    }
    req.body = m_steps[m_step];
    req.connect_timeout_ms = m_ctx.config->connect_timeout_ms;
    m_status = 0;
    m_body.clear();
    auto t = net::Transfer::start(*m_ctx.upstream, std::move(req), this);
    if (!t) return end(false);
    m_transfer = std::move(*t);
  }

  void advance() {
    m_transfer.reset();
    const bool accepted = m_step_ok && m_status >= 200 && m_status < 300;
    if (m_step == 0) {
      Session* s = session();
      const std::optional<std::string> version = accepted ? answered_version(m_body, m_sse) : std::nullopt;
      if (s == nullptr || !accepted || m_new_id.empty() || !version ||
          (!s->record.protocol_version.empty() && *version != s->record.protocol_version)) {
        util::log(LogLevel::warn, "reinit_refused",
                  {{"session_prefix", m_session.substr(0, 8)}, {"status", m_status},
                   {"protocol", version.value_or("")}, {"expected", s != nullptr ? s->record.protocol_version : ""}});
        return end(false);
      }
    } else if (!accepted) {
      // initialized is required; a setLevel or subscribe the new server refuses is logged only.
      util::log(LogLevel::warn, "reinit_step_refused", {{"session_prefix", m_session.substr(0, 8)}, {"step", m_step}, {"status", m_status}});
      if (m_step == 1 && m_sends_initialized) return end(false);
    }
    ++m_step;
    if (m_step == m_remap_at) return remap();
    if (m_step < m_steps.size()) return next();
    end(true);
  }

  // The new upstream session is set up (initialize, initialized): map the session to it and
  // re-open its GET stream, then replay the rest (setLevel, subscribes), so what the server
  // sends on the GET stream from now on, their effects included, reaches the client.
  void remap() {
    Session* s = session();
    if (s == nullptr) return end(false);
    util::log(LogLevel::info, "session_reinitialized", {{"session_prefix", m_session.substr(0, 8)}, {"steps", m_steps.size()}});
    s->record.upstream_id = m_new_id;
    m_ctx.pipeline->add_session(s->record);
    ++m_ctx.metrics->reinits;
    m_waiting_get = true;
    Stream* get = s->get_stream ? m_ctx.registry->find(*s->get_stream) : nullptr;
    if (get == nullptr || !get->is_open()) return get_answered();
    m_hold.arm_ms(k_reinit_get_hold_ms);  // the server may be slow to answer the GET
    get->reopen_upstream([alive = std::weak_ptr<Run*>(m_alive)] {
      if (auto p = alive.lock(); p && *p != nullptr) (*p)->m_advance_after_get.fire();
    });
  }

  void get_answered() {
    if (!m_waiting_get) return;  // the hold ran out before, or the other way round
    m_waiting_get = false;
    m_hold.cancel();
    if (m_result) return;
    if (m_step < m_steps.size()) return next();
    end(true);
  }

  void end(bool remapped) {
    if (m_result) return;
    m_result = remapped;
    m_hold.cancel();
    if (!remapped) ++m_ctx.metrics->reinits_failed;
    m_ended();  // the owner settles later in this loop iteration
  }

  Context& m_ctx;
  std::string m_session;
  std::function<void()> m_ended;
  std::vector<std::string> m_steps;  // request bodies, in order
  bool m_sends_initialized = false;  // step 1 is notifications/initialized (required)
  std::size_t m_remap_at = 1;        // the steps before it set the new session up
  bool m_waiting_get = false;        // for the re-opened GET stream's answer
  std::size_t m_step = 0;
  std::string m_new_id;
  int m_status = 0;
  bool m_sse = false;
  std::string m_body;
  bool m_step_ok = false;
  std::unique_ptr<net::Transfer> m_transfer;
  std::vector<Done> m_waiters;
  std::optional<bool> m_result;
  net::Trigger m_advance;
  net::Trigger m_advance_after_get;  // the re-opened GET was answered (outside its callbacks)
  net::Timer m_hold;
  std::shared_ptr<Run*> m_alive = std::make_shared<Run*>(this);
};

Reinitializer::Reinitializer(Context& ctx) : m_ctx(ctx), m_settle(*ctx.loop, [this] { settle(); }) {}

Reinitializer::~Reinitializer() = default;

void Reinitializer::notice(const std::string& session, const std::string& stale, Done done) {
  Session* s = m_ctx.sessions->find_any(session);
  bool possible = m_ctx.config->reinit && s != nullptr && s->record.state == store::SessionState::open &&
                  !s->setup.initialize.empty();
  if (possible) {
    // Another proxy sharing the store (RedisStore) may have closed the session (a DELETE it
    // forwarded): the server forgot it on purpose, it is not to be set up again.
    auto stored = m_ctx.store->session(session);
    if (stored && *stored && (*stored)->state != store::SessionState::open) possible = false;
  }
  if (!possible || s->record.upstream_id != stale) {
    // Off, nothing to re-send, or already on another upstream session (another request noticed
    // first and its run ended).
    m_ready.emplace_back(std::move(done), possible);
    m_settle.fire();
    return;
  }
  auto& run = m_runs[session];
  if (!run) {
    util::log(LogLevel::info, "upstream_session_lost", {{"session_prefix", session.substr(0, 8)}});
    run = std::make_unique<Run>(m_ctx, *s, [this] { m_settle.fire(); });
    run->add(std::move(done));
    run->start();
    return;
  }
  run->add(std::move(done));
}

void Reinitializer::settle() {
  for (auto it = m_runs.begin(); it != m_runs.end();) {
    if (!it->second->ended()) {
      ++it;
      continue;
    }
    const bool remapped = it->second->remapped();
    for (Done& d : it->second->take_waiters()) m_ready.emplace_back(std::move(d), remapped);
    it = m_runs.erase(it);  // outside libcurl's callbacks: its transfer may go
  }
  std::vector<std::pair<Done, bool>> ready;
  ready.swap(m_ready);
  for (auto& [done, remapped] : ready) done(remapped);
}

void Reinitializer::shutdown() {
  for (auto& [id, run] : m_runs) {
    for (Done& d : run->take_waiters()) m_ready.emplace_back(std::move(d), false);
  }
  m_runs.clear();
  m_settle.fire();
}

}  // namespace ssestitch::proxy
