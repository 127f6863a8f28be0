#pragma once
// The session's standalone GET stream, opened by the proxy itself (--get-stream early, the
// default).
//
// The problem: an MCP server sends requests and notifications that belong to no client request
// (sampling or elicitation from a tool that does not name the call it serves, list_changed,
// resource updates) on the session's standalone GET stream, and the TypeScript SDK server drops
// such a message when no GET stream is open at that instant. SDK clients open that GET without
// waiting for it, right after `notifications/initialized`, and go on with their next requests.
// Directly, the GET reaches the server first. Through a proxy it loses the race: the next POST
// goes out at once on a pooled upstream connection, the GET needs a new one (about 3 ms here),
// and a tool that asks the client something at once asks into the void; the call then waits for
// an answer that cannot come (seen as the 60 s timeouts of the conformance scenarios
// tools-call-sampling, tools-call-elicitation and elicitation-sep1034-defaults).
//
// The approach: when the upstream accepts `notifications/initialized` (2xx), the proxy opens the
// session's GET itself, with the headers of that POST, and holds the client's 202 until the
// upstream has answered that GET and the stream's record is committed (at most
// k_initialized_hold_ms), so the stream is in place before any later request of the client
// reaches the server, and a proxy sharing the store finds it (Router, several instances). Its events are
// logged like any stream's. The client's GET (without Last-Event-ID) then takes it over: while
// the upstream has not answered, the client simply gets that answer (200 stream, or the 405 of
// a server without GET streams, as if it had sent the GET itself); once it is a stream, the
// first client receives it from its first event (nothing of it was delivered before). A stream
// no client takes over lingers out after --linger, like any stream without a client; a refused
// early GET (405, 409) is dropped without a trace for the client. No early GET when a client's
// own GET was already forwarded.
//
// Rejected: holding a session's POSTs until its client's GET is answered upstream (the SDK
// client may send the POST first: there is nothing to wait for); forwarding the client's GET
// on a warm connection (narrows the race, does not close it).
// Loop thread only.

#include <cstdint>
#include <functional>

#include "core/proxy/context.h"

namespace ssestitch::proxy {

struct ForwardPlan;

// The longest the client's answer to `initialized` waits for the early GET to be answered.
inline constexpr std::int64_t k_initialized_hold_ms = 2000;

// The upstream accepted `initialized` (the POST of `plan`): opens the session's GET stream
// unless --get-stream client, or the session has one, or a client's GET is on its way.
// `answered` runs once, when the upstream answered that GET or it failed. False: not opened
// (`answered` never runs).
bool open_standalone_get(Context& ctx, const ForwardPlan& initialized, std::function<void()> answered);

}  // namespace ssestitch::proxy
