#pragma once
// Admin: the endpoints of the admin listener (--admin, a separate port; DESIGN.md
// "Operations"): GET /healthz (200 "ok", or 503 naming a degraded store or an unreachable
// upstream), GET /readyz (503 once shutting down), GET /metrics (Prometheus text format:
// the counters of Metrics and the gauges read at the time of the request). Other methods get
// 405, other paths 404. Loop thread only.

#include "core/net/http_server.h"
#include "core/proxy/context.h"

namespace ssestitch::proxy {

class Admin {
 public:
  // `clients`: the client listener (its connection count is a gauge); `stopping`: set once the
  // proxy shuts down.
  Admin(Context& ctx, const net::HttpServer& clients, const bool& stopping)
      : m_ctx(ctx), m_clients(clients), m_stopping(stopping) {}

  void handle(net::ServerRequest& request);

 private:
  Context& m_ctx;
  const net::HttpServer& m_clients;
  const bool& m_stopping;
};

}  // namespace ssestitch::proxy
