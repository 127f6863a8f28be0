#pragma once
// Exchange: one client request forwarded to the upstream, until its response is known.
//
// When the upstream answers 200 text/event-stream in the sessions era (MCP 2025-03-26 ..
// 2025-11-25, or any non-MCP path), the response becomes a tracked Stream: the exchange hands
// it the transfer and the client and is done. Every other response (JSON, errors, 202,
// redirects, SSE in the stateless 2026-07-28 era) is passed through as it arrives, with the
// header policy applied, Mcp-Session-Id mapped, and the client's backlog bounded by pausing the
// upstream. Stateless SSE is a StatelessAnswer (below); closing it cancels the upstream
// request (2026-07-28: disconnect is cancellation).
//
// Sessions: a 2xx answer to `initialize` carrying Mcp-Session-Id creates the proxy's session;
// a JSON answer is held until the session record is committed, so a client never holds a
// session id that a restarted proxy would not know. A 2xx to DELETE closes the session. "Unknown
// session" (reinit.h says_unknown_session: read from the 404's or 400's body) to a request of a
// session waits for the session's re-initialisation (proxy/reinit.h) and re-sends the request
// once; when that fails (or with --no-reinit) the client gets the answer and the session
// expires. A DELETE is recorded (the session closed) before it is forwarded: once the server
// has dropped the session, another proxy sharing the store that notices (its GET stream cut, a
// request answered "unknown session") must read it closed rather than set it up again, which
// it did when the close was committed only after the server's answer (store_redis_sessions.sh,
// with the store's replies to the deleting proxy held back). A DELETE the server refuses, or
// that gets no answer, records the session open again. An answer that ended the session is
// held until that is committed, so a client told its session is over finds it over everywhere.
// A request that got no answer at all is sent again, for --retry-connect, when that cannot do
// harm: the connection was refused (nothing listens: the request was not sent; a server
// restarting on the same port is waited for), or the request is retry-safe
// (mcp::is_retry_safe: ping, lists, reads) and its connection died before any answer. A
// retry-safe request's JSON answer is held whole (up to 1 MiB or --max-body-size, whichever is
// smaller; a larger one is passed on as it comes), so that one whose connection dies mid-body
// counts as no answer and goes again, instead of reaching the client cut off under a 200
// (seen once the proxy kept upstream connections after SSE answers: bench --through-proxy's
// relay, which cuts every 16 KiB of a connection, then cut pings mid-answer).
// A 2026-07-28 SSE answer is a StatelessAnswer (proxy/stateless_answer.h: events passed on,
// a broken answer re-issued when that is safe, else one JSON-RPC error). A tools/list answer
// teaches RetryPolicy which tools are read-only or idempotent.
// Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/mcp/message.h"
#include "core/net/event_loop.h"
#include "core/net/http_server.h"
#include "core/net/upstream_client.h"
#include "core/proxy/context.h"
#include "core/proxy/stateless_answer.h"

namespace ssestitch::proxy {

struct ForwardPlan {
  net::UpstreamRequest request;      // ready to send
  net::Headers upstream_headers;     // forwardable client headers, for a stream's reconnects
  bool mcp = false;                  // the request targets the MCP endpoint
  mcp::Era era = mcp::Era::sessions;
  bool initialize = false;           // an initialize POST without a session
  bool initialized = false;          // a POST in a session carrying notifications/initialized
  bool standalone = false;           // the proxy's own early GET (proxy/standalone_get.h)
  std::string rpc_method;            // the method of a single-message POST on the MCP endpoint
  std::vector<std::string> request_ids;
  std::string session;               // the proxy session id, "" without one
  std::string principal;
  std::string target;                // the client's request target
};

class Exchange final : private net::Transfer::Observer,
                       private net::ServerRequest::Observer,
                       private StatelessAnswer::Owner {
 public:
  // `client`: the request to answer; nullptr for the proxy's own early GET, which may get its
  // client later (adopt_client) or become a stream without one.
  Exchange(Context& ctx, net::ServerRequest* client, ForwardPlan plan);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Sends the request upstream; on failure answers 502 and releases itself.
  void start();
  // A client for an exchange started without one, before its response is known: it gets the
  // response as if it had sent the request itself.
  void adopt_client(net::ServerRequest& client);
  // Called once when this exchange is done with its upstream response (answered or failed).
  void on_answered(std::function<void()> fn) { m_on_answered = std::move(fn); }
  // The proxy is stopping: answer 503 (or cut a started response) and drop the upstream.
  void shutdown();

 private:
  void on_response(int status, const net::Headers& headers) override;
  net::Transfer::BodyAction on_body(std::string_view bytes) override;
  void on_done(const util::Result<void>& result) override;
  void on_client_closed() noexcept override;
  void on_drained() noexcept override;
  void answer_write(std::string_view bytes) override;
  void answer_again(std::string body, std::int64_t delay_ms) override;
  void answer_done() override { finish_client(); }

  void apply_session_effects(int status, const net::Headers& headers);
  void become_stream(const net::Headers& client_headers);
  void reply_error(int status, std::string_view message);
  void reply_held();
  // reply_held() once what the pipeline holds now is committed (m_waiting_commit meanwhile).
  void reply_held_after_commit();
  // A DELETE recorded as closing the session did not close it: records the session open again.
  void undo_recorded_close();
  // The answer changed the session's record (ended it, or undid a DELETE's close): the client
  // gets it once that is committed.
  bool changed_session_record() const noexcept { return m_ended_session || m_close_undone; }
  void pass_on(std::string_view bytes);  // a piece of a passed-through answer, to the client
  void early_get_answered();
  bool may_be_unknown_session(int status) const;
  void wait_for_reinit();
  void after_reinit(bool remapped);
  bool retry(util::Errc error);
  void finish_client();
  // A successful tools/list answer (whole; "" when it was too large to keep) teaches RetryPolicy.
  void learn_tools(std::string_view response);
  void release();

  Context& m_ctx;
  net::ServerRequest* m_client;
  ForwardPlan m_plan;
  std::unique_ptr<net::Transfer> m_transfer;
  int m_status = 0;
  net::Headers m_client_headers;
  bool m_hold = false;             // the answer is held: initialize until the session commits,
                                   // initialized until the early GET is answered, one that ended
                                   // the session until that commits
  bool m_ended_session = false;    // apply_session_effects() closed or expired the session
  bool m_close_recorded = false;   // a DELETE: the session was recorded closed before forwarding
  bool m_close_undone = false;     // ... and recorded open again (refused, or no answer)
  bool m_waiting_commit = false;
  bool m_waiting_get = false;      // initialized: the early GET is not answered yet
  bool m_upstream_done = false;    // the held answer is complete
  bool m_retry_hold = false;       // held: a retry-safe request's answer (sent again if cut)
  bool m_check_unknown = false;    // a 404 or 400 whose body may say "unknown session" (held)
  bool m_resent = false;           // re-sent after the session's re-initialisation
  int m_retries = 0;
  std::int64_t m_started_ns = 0;   // the first attempt
  // Before the answer: the next attempt after no answer (retry()); after it: the bound of
  // m_waiting_get (k_initialized_hold_ms). One timer: never both at once.
  net::Timer m_timer;
  std::function<void()> m_on_answered;
  std::shared_ptr<Exchange*> m_self;  // lets callbacks find this exchange only while it lives
  bool m_released = false;
  std::string m_held_body;
  // A 2026-07-28 SSE answer. Behind a pointer: 816 bytes every other exchange would carry, and
  // a burst of connections leaves each exchange's memory behind as a hole between the streams.
  std::unique_ptr<StatelessAnswer> m_stateless;
  std::string m_answer;          // a JSON answer, for the observers and, of tools/list, for
                                 // RetryPolicy (bounded)
  std::size_t m_answer_size = 0; // its size when larger than what is kept
  void observe_answer(std::string_view body, std::size_t size, bool from_proxy = false, std::uint64_t stream = 0);
};

}  // namespace ssestitch::proxy
