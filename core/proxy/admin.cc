#include "core/proxy/admin.h"

#include "core/net/upstream_client.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/session_table.h"
#include "core/proxy/stream.h"
#include "core/store/session_store.h"

namespace ssestitch::proxy {

void Admin::handle(net::ServerRequest& request) {
  net::Headers h;
  h.add("Content-Type", "text/plain; charset=utf-8");
  const std::string_view path = request.path();
  if (request.method() != "GET" && request.method() != "HEAD") {
    request.reply(405, h, "method not allowed\n");
    return;
  }
  store::StoreMetrics sm = m_ctx.store->metrics();
  if (path == "/healthz") {
    if (sm.degraded) {
      request.reply(503, h, "unhealthy: store: " + sm.last_error + "\n");
    } else if (m_ctx.metrics->upstream_down()) {
      request.reply(503, h, "unhealthy: upstream unreachable: " + m_ctx.metrics->upstream_error + "\n");
    } else {
      request.reply(200, h, "ok\n");
    }
    return;
  }
  if (path == "/readyz") {
    if (m_stopping) {
      request.reply(503, h, "stopping\n");
    } else if (sm.degraded) {
      request.reply(503, h, "not ready: store: " + sm.last_error + "\n");
    } else {
      request.reply(200, h, "ready\n");
    }
    return;
  }
  if (path == "/metrics") {
    Gauges g;
    g.sessions_open = m_ctx.sessions->open_count();
    for (Stream* s : m_ctx.registry->streams()) {
      if (!s->is_open()) continue;
      switch (s->record().kind) {
        case store::StreamKind::post: ++g.streams_post; break;
        case store::StreamKind::get: ++g.streams_get; break;
        case store::StreamKind::generic: ++g.streams_generic; break;
        case store::StreamKind::tape: break;  // never a Stream (proxy/recorder.h)
      }
      g.clients_attached += s->has_client() ? 1 : 0;
      g.streams_lingering += s->has_client() ? 0 : 1;
    }
    g.connections = m_clients.connection_count();
    g.upstream_transfers = m_ctx.upstream->active();
    if (auto st = m_ctx.store->stats()) g.store_bytes = st->file_bytes;
    g.store_degraded = sm.degraded;
    net::Headers mh;
    mh.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    request.reply(200, mh, render_prometheus(*m_ctx.metrics, g, sm));
    return;
  }
  request.reply(404, h, "not found (try /healthz, /readyz, /metrics)\n");
}

}  // namespace ssestitch::proxy
