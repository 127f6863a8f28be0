#include "cmd/replay_format.h"

#include "cmd/store_view.h"
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
         json_string(id) + ",\"upstream_id\":" + json_string(e.upstream_id) + ",\"event\":" + json_string(e.type) +
         ",\"data\":" + json_string(e.data) + ",\"time_ms\":" + std::to_string(e.arrival_ms) + "}\n";
}

}  // namespace ssestitch::cmd
