#pragma once
// Reinitializer: an MCP session carried over a restart of the upstream server (MCP 2025-03-26 ..
// 2025-11-25; ssestitch-proxy(1) "When the server restarts").
//
// The problem: a restarted server forgets its sessions and answers the old Mcp-Session-Id with
// 404 (the SDK examples: 400 "No valid session ID provided"). The specification tells the client
// to re-initialise; in practice SDK clients and hosts surface an error and the user starts the
// conversation over, although the client did nothing wrong.
//
// The approach: each session keeps, in memory, what it set up upstream (SessionSetup: the
// initialize request and its forwardable headers, whether `initialized` was accepted, the last
// logging/setLevel, the resources subscribed). Whoever meets "unknown session" for the session's
// current upstream id calls notice(); one Run per session replays the setup against the server,
// however many requests noticed: initialize (the answer must carry a session id and negotiate
// the session's protocolVersion, else the run fails), notifications/initialized, setLevel, each
// subscribe (their answers are read and dropped: the client never asked). The session is then
// mapped to the new upstream session (and the store updated); its GET stream, if open, is
// re-opened at once, and the waiters continue only once the server has answered that GET (at
// most k_reinit_get_hold_ms), so what the server sends there after the restart is not lost. Each
// waiter decides what "continue" means: an Exchange re-sends its request (the server never
// processed it: it did not know the session); a GET stream re-opens on the new session without
// Last-Event-ID (new server, new ids: proxy/upstream_stream.h); a POST stream whose request was
// in flight ends with a JSON-RPC error for each pending request (the new server never saw it).
// A failed run, or --no-reinit, leaves the old behaviour: the client gets the server's answer
// and the session expires.
//
// Rejected: keeping the setup in the store so a restarted proxy could re-initialise too (the
// headers carry credentials, which are never stored); re-sending requests that were in flight
// on a broken stream (they may have run on the old server).
// Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/net/event_loop.h"
#include "core/proxy/context.h"

namespace ssestitch::proxy {

// Whether an answer to a request naming a session says the server does not know that session:
// a 404 with an empty body or one that names the session (the SDKs: "Session not found"), or a
// 400 that names it (the SDK examples: "No valid session ID provided"). A 404 for something
// else ("no such event id") is not.
bool says_unknown_session(int status, std::string_view body);
// The most of such an answer's body that is read to tell.
inline constexpr std::size_t k_max_refusal_body = 64u << 10;

// The longest the waiters of a run wait for the server to answer the re-opened GET stream.
inline constexpr std::int64_t k_reinit_get_hold_ms = 2000;

class Reinitializer {
 public:
  // true: the session is mapped to a live upstream session; false: it could not be.
  using Done = std::function<void(bool remapped)>;

  explicit Reinitializer(Context& ctx);
  ~Reinitializer();
  Reinitializer(const Reinitializer&) = delete;
  Reinitializer& operator=(const Reinitializer&) = delete;

  // The upstream answered "unknown session" to a request of `session` that carried upstream id
  // `stale`. `done` runs later in the loop (never inside this call): true at once when the
  // session has been mapped to another upstream id since, false when re-initialisation is off
  // or nothing was recorded; otherwise when the session's run ends.
  void notice(const std::string& session, const std::string& stale, Done done);
  // The proxy stops: runs are dropped, their waiters told false.
  void shutdown();

 private:
  class Run;
  void settle();

  Context& m_ctx;
  std::unordered_map<std::string, std::unique_ptr<Run>> m_runs;  // by proxy session id
  std::vector<std::pair<Done, bool>> m_ready;                     // answers due
  net::Trigger m_settle;
};

}  // namespace ssestitch::proxy
