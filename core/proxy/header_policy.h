#pragma once
// Which headers cross the proxy, in each direction (RFC 9110 §7.6.1 hop-by-hop fields, plus
// the ones the proxy owns). Credentials (Authorization, Cookie) are forwarded to the upstream
// as they are (the upstream authenticates its users), except the proxy's own token when
// --require-token is set; they are never stored or logged.

#include <string_view>

#include "core/net/headers.h"

namespace ssestitch::proxy {

// Headers for the upstream request, from the client's: hop-by-hop fields, Host (libcurl sets
// the upstream's), Content-Length and Expect (libcurl), Accept-Encoding (we must read SSE as
// identity), Last-Event-ID and Mcp-Session-Id (the caller sets the upstream's values), and
// Authorization when `strip_authorization` are removed.
net::Headers upstream_request_headers(const net::Headers& client, bool strip_authorization);

// Headers for the client response, from the upstream's: hop-by-hop fields, Content-Length and
// Transfer-Encoding (evhttp frames the response itself) and Mcp-Session-Id (the caller sets the
// proxy's) are removed. For SSE, Cache-Control: no-cache and X-Accel-Buffering: no are set
// (DESIGN.md behaviour 7).
net::Headers client_response_headers(const net::Headers& upstream, bool sse);

// The headers of an SSE response the proxy starts itself (resumes served from the log).
net::Headers sse_response_headers();

}  // namespace ssestitch::proxy
