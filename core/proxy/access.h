#pragma once
// Which browser origins and which host names may reach the proxy: DNS-rebinding protection
// (MCP 2025-11-25, transport security: servers must validate Origin, and local servers should
// bind to loopback and validate Host).
//
// A foreign web page can make a browser send requests to 127.0.0.1 by giving its own name a
// loopback address (DNS rebinding); those requests carry the page's Origin and its name in
// Host. So:
//   - Origin: absent (not a browser), allowed by --allow-origin (exact or "*"), the proxy's own
//     origin, or, while the proxy listens on loopback, any loopback origin (localhost,
//     127.0.0.0/8, [::1], any port: a local tool such as the MCP Inspector) is allowed. Anything
//     else: 403.
//   - Host, while the proxy listens on loopback: a loopback name (with or without a port), the
//     listen address itself, or a name given with --allow-host ("*": any) is allowed; anything
//     else: 403. On another address the Host is not checked (the proxy cannot know its names).
// Rejected: refusing every Origin without a flag (broke local browser tools that the reference
// servers accept), and checking Host on every listener (breaks names behind load balancers).

#include <optional>
#include <string_view>

#include "core/proxy/config.h"

namespace ssestitch::proxy {

// Whether a request with this Origin header value may be served.
bool origin_allowed(const Config& config, std::string_view origin);
// Whether a request with this Host header value (nullopt: none, as from an HTTP/1.0 client) may
// be served.
bool host_allowed(const Config& config, std::optional<std::string_view> host);
// "localhost", "*.localhost", 127.0.0.0/8, "::1" or "[::1]", without a port.
bool is_loopback_name(std::string_view host);

}  // namespace ssestitch::proxy
