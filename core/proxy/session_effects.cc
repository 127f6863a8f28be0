#include "core/proxy/session_effects.h"

#include "core/proxy/commit_pipeline.h"
#include "core/proxy/message_observer.h"
#include "core/proxy/registry.h"
#include "core/proxy/retry_policy.h"
#include "core/proxy/stream.h"
#include "core/util/clock.h"
#include "core/util/log.h"

namespace ssestitch::proxy {

Session& open_session(Context& ctx, std::string_view upstream_sid, std::string_view protocol_version,
                      const std::string& principal, const std::string& initialize_body, const net::Headers& headers) {
  Session& s = ctx.sessions->create(std::string(upstream_sid), std::string(protocol_version), principal,
                                    ctx.clock->wall_ms());
  s.setup.initialize = initialize_body;
  s.setup.headers = headers;
  ctx.pipeline->add_session(s.record);
  util::log(util::LogLevel::info, "session_created", {{"session_prefix", s.record.id.substr(0, 8)}});
  return s;
}

void end_session(Context& ctx, Session& s, store::SessionState state) {
  s.record.state = state;
  s.record.last_active_ms = ctx.clock->wall_ms();
  ctx.pipeline->add_session(s.record);
  for (Stream* stream : ctx.registry->streams()) {
    if (stream->record().session == s.record.id) stream->end_session();
  }
  ctx.retry->forget(s.record.id);
  if (ctx.observers != nullptr) ctx.observers->session_ended(s.record.id);
  util::log(util::LogLevel::info, state == store::SessionState::closed ? "session_closed" : "session_expired",
            {{"session_prefix", s.record.id.substr(0, 8)}});
}

}  // namespace ssestitch::proxy
