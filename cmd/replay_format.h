#pragma once
// How `replay` writes one recorded event: SSE as the proxy sent it to clients (`id: N-SEQ`,
// `event:`, `data:` lines), or one NDJSON object with stable fields (ssestitch-replay(1)).

#include <string>

#include "core/store/records.h"

namespace ssestitch::cmd {

enum class ReplayFormat { sse, ndjson };

void append_replayed(std::string& out, const store::EventView& e, ReplayFormat format);

}  // namespace ssestitch::cmd
