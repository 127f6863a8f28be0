#pragma once
// fetch(): one HTTP request, blocking, for command-line tools (bench's MCP smoke test); never
// on the proxy's loop, which uses UpstreamClient. libcurl's easy interface, so that core/net
// stays the only place that talks to libcurl.

#include <functional>
#include <string>
#include <string_view>

#include "core/net/headers.h"
#include "core/net/upstream_client.h"

namespace ssestitch::net {

struct FetchResult {
  int status = 0;          // 0: no HTTP answer
  bool timed_out = false;  // total_timeout_ms ran out (possibly after an answer: a stream)
  std::string error;       // libcurl's message when the transfer failed, else ""
};

// Sends `request` and waits for the whole response or request.total_timeout_ms. `on_headers`
// gets the final response's status and headers once, then `on_body` every piece of the body.
FetchResult fetch(const UpstreamRequest& request, const std::function<void(int, const Headers&)>& on_headers,
                  const std::function<void(std::string_view)>& on_body);

}  // namespace ssestitch::net
