#pragma once
// What upstream answers do to the proxy's MCP sessions (DESIGN.md "Sessions"): a 2xx answer to
// `initialize` carrying Mcp-Session-Id opens one; a 2xx (or 404) to DELETE closes it; a 404 to
// any other request of it expires it. Either end is stored, ends the session's streams and
// makes RetryPolicy forget the tools it learnt there. (A failed re-initialisation only marks
// the session expired: UpstreamStream ends its own stream, and the others hear of it from the
// Reinitializer.) Loop thread only.

#include <string>
#include <string_view>

#include "core/net/headers.h"
#include "core/proxy/context.h"
#include "core/proxy/session_table.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

// The session for an initialize answered 2xx with `upstream_sid` (already validated), set up
// from the request (`initialize_body`, its forwardable `headers`), queued for the store.
Session& open_session(Context& ctx, std::string_view upstream_sid, std::string_view protocol_version,
                      const std::string& principal, const std::string& initialize_body, const net::Headers& headers);

// Ends an open session: `closed` (DELETE) or `expired` (the server forgot it).
void end_session(Context& ctx, Session& session, store::SessionState state);

}  // namespace ssestitch::proxy
