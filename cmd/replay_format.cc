#include "cmd/replay_format.h"

#include "cmd/store_view.h"
#include "core/util/text.h"
#include "core/sse/writer.h"
#include "core/tracker/downstream_id.h"

namespace ssestitch::cmd {

void append_replayed(std::string& out, const store::EventView& e, ReplayFormat format) {
  const std::string id = tracker::format_downstream_id({e.stream, e.seq});
  if (format == ReplayFormat::sse) {
    sse::append_event(out, sse::OutEvent{id, e.type, e.data, std::nullopt});
    return;
  }
  out += "{\"stream\":" + std::to_string(e.stream) + ",\"seq\":" + std::to_string(e.seq) + ",\"id\":" +
         util::json_quote(id) + ",\"upstream_id\":" + util::json_quote(e.upstream_id) + ",\"event\":" + util::json_quote(e.type) +
         ",\"data\":" + util::json_quote(e.data) + ",\"time_ms\":" + std::to_string(e.arrival_ms) + "}\n";
}

}  // namespace ssestitch::cmd
