#pragma once
// tape::read_messages: a recorded conversation back from a store (proxy/recorder.h wrote it),
// for `inspect STORE messages` and the tape export: the recorded lines of the sessions' tape
// streams, with the events of the same sessions' SSE streams (post, get: the log keeps their
// bodies, the tape only links them) merged in by arrival time and formatted as the tap formats
// them (tape::ndjson_line; responses among them get their latency from the recorded requests).
//
// Order: by time (milliseconds); at equal times recorded lines first (a request before the
// events it causes), then events by stream and seq. Sessions that recorded nothing (--record
// off) contribute nothing. With metadata-only recording, the merged events carry no body either.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/store/session_store.h"
#include "core/util/result.h"

namespace ssestitch::tape {

// The lines (NDJSON objects without their LF) of `session`'s messages, or of every recorded
// session and the sessionless traffic when nullopt; at most `limit` (0: all). Errors: the
// store's; not_found for a session the store does not have.
util::Result<std::vector<std::string>> read_messages(const store::SessionStore& store,
                                                     const std::optional<std::string>& session,
                                                     std::size_t limit = 0);

}  // namespace ssestitch::tape
