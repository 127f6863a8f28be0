#pragma once
// Router: what happens to each client request (DESIGN.md "Behaviour the proxy guarantees").
//
// In order: Host and Origin checks (403; DNS-rebinding protection, MCP 2025-11-25: see
// proxy/access.h), bearer token check when --require-token is set (401), then the
// MCP session: a request carrying Mcp-Session-Id must name an open session of this principal
// (else 404 with a JSON-RPC error on the MCP endpoint; never forwarded with a guessed mapping),
// and is mapped to the upstream's session id. Then:
//   - GET with Last-Event-ID: a resume from our log (ids "<stream>-<seq>"): 400 malformed,
//     404 unknown or another session's / principal's stream, 410 evicted (unless
//     --on-gap=oldest), else the stream's events after that seq, then live;
//   - GET on the MCP endpoint while the session's GET stream lingers without a client: the
//     client takes it over live (avoids the upstream's 409 "one GET stream per session");
//     when another proxy sharing the store reads that stream (the client's requests land on
//     several proxies), it is followed from the store, from its first retained event: this
//     proxy cannot know what a client saw elsewhere, and a client that read it resumes with
//     Last-Event-ID;
//   - anything else is forwarded as an Exchange (POST bodies on the MCP endpoint are classified
//     to learn the request ids and spot `initialize`).
// In the 2026-07-28 era (MCP-Protocol-Version) there are no sessions and no resumption:
// Mcp-Session-Id and Last-Event-ID are ignored, as the specification says.
// Loop thread only.

#include <string>
#include <string_view>

#include "core/mcp/message.h"
#include "core/net/http_server.h"
#include "core/proxy/context.h"
#include "core/proxy/exchange.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

struct Session;
class Stream;

class Router {
 public:
  explicit Router(Context& ctx) : m_ctx(ctx) {}
  void handle(net::ServerRequest& request);

 private:
  bool is_mcp_path(std::string_view path) const;
  // Origin and bearer token; false: refused (answered).
  bool admit(net::ServerRequest& request, bool mcp_path);
  // The session named by Mcp-Session-Id (nullptr without one, or off the MCP endpoint when
  // unknown); false: refused (answered).
  bool map_session(net::ServerRequest& request, bool mcp_path, const std::string& principal, Session*& session);
  // A GET on the MCP endpoint while the session's GET stream lingers without a client: the
  // client takes it over live. False: not the case.
  bool take_over_get_stream(net::ServerRequest& request, Session* session);
  // The session's GET stream when another proxy sharing the store reads it (RedisStore): the
  // client gets it from its first retained event. False: none (or refused: answered).
  bool take_over_stored_get_stream(net::ServerRequest& request, Session& session);
  // `record`, open in the store but read by no Stream here: taken over (its proxy is gone) or
  // followed from the store. Nullptr: store error (answered 503).
  Stream* open_stored_stream(net::ServerRequest& request, const store::StreamRecord& record);
  // The upstream request and what the Exchange needs to know of it.
  ForwardPlan plan_forward(const net::ServerRequest& request, bool mcp_path, mcp::Era era, const Session* session,
                           const std::string& principal) const;
  void resume(net::ServerRequest& request, std::string_view last_event_id, const std::string& session,
              const std::string& principal);
  void refuse(net::ServerRequest& request, int status, std::string_view message, bool json_rpc);
  // Shows the request being handled to the message observers, in `session` (validated: a
  // refused request's session is not its claim).
  void observe_request(const net::ServerRequest& request, std::string_view session);

  Context& m_ctx;
  // The request being handled (handle() runs to its end before the next): observed or not.
  bool m_observing = false;
  bool m_request_observed = false;
  std::string m_observed_session;
};

}  // namespace ssestitch::proxy
