#include "core/proxy/standalone_get.h"

#include <memory>

#include "core/proxy/commit_pipeline.h"
#include "core/proxy/config.h"
#include "core/proxy/exchange.h"
#include "core/proxy/metrics.h"
#include "core/proxy/registry.h"
#include "core/proxy/session_table.h"
#include "core/util/log.h"

namespace ssestitch::proxy {

bool open_standalone_get(Context& ctx, const ForwardPlan& initialized, std::function<void()> answered) {
  if (!ctx.config->early_get) return false;
  Session* session = ctx.sessions->find_any(initialized.session);
  if (session == nullptr || session->record.state != store::SessionState::open) return false;
  if (session->get_stream || session->get_opening != nullptr || session->client_opened_get) return false;
  ForwardPlan plan;
  plan.mcp = true;
  plan.era = initialized.era;
  plan.standalone = true;
  plan.session = initialized.session;
  plan.principal = initialized.principal;
  plan.target = initialized.target;
  plan.upstream_headers = initialized.upstream_headers;
  plan.upstream_headers.remove("Content-Type");
  plan.upstream_headers.set("Accept", "text/event-stream");
  plan.request.method = "GET";
  plan.request.url = initialized.request.url;
  plan.request.headers = plan.upstream_headers;
  plan.request.headers.set("Mcp-Session-Id", session->record.upstream_id);
  if (!session->record.protocol_version.empty()) {
    plan.request.headers.set("MCP-Protocol-Version", session->record.protocol_version);
  }
  Exchange& exchange = ctx.registry->add(std::make_unique<Exchange>(ctx, nullptr, std::move(plan)));
  session->get_opening = &exchange;
  // The client's 202 waits for the stream's record too, so that its GET finds the stream even
  // on another proxy sharing the store.
  exchange.on_answered([&ctx, answered = std::move(answered)] {
    ctx.pipeline->after_commit([answered](bool) { answered(); });
  });
  ++ctx.metrics->get_streams_opened_early;
  util::log(util::LogLevel::debug, "early_get", {{"session_prefix", session->record.id.substr(0, 8)}});
  exchange.start();
  return true;
}

}  // namespace ssestitch::proxy
