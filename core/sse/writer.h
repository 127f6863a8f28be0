#pragma once
// sse::Writer: serialises events, comments, `retry:` and keepalives in `text/event-stream`
// format by appending to a caller-owned buffer (the proxy appends many events, then writes once).
//
// Output is canonical: `id: `, `event: `, then one `data: ` line per line of data (data is split
// on CRLF, CR and LF), then a blank line. Parsing the output with sse::Parser gives back the same
// id, type and data, with CR and CRLF in data normalised to LF. Ids and types cannot contain line
// ends or NUL; the writer removes those bytes rather than emit a line that would split the event.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssestitch::sse {

struct OutEvent {
  std::string_view id;                 // written when non-empty
  std::string_view type;               // written when non-empty (empty means "message")
  std::string_view data;               // always written: at least one `data:` line, so it dispatches
  std::optional<std::uint32_t> retry;  // written before the data when set
};

// Appends one complete event (ending with a blank line) to `out`.
void append_event(std::string& out, const OutEvent& event);
// Appends a comment line `: <text>` (line ends in `text` are removed). No blank line follows.
void append_comment(std::string& out, std::string_view text);
// Appends `retry: <ms>` followed by a blank line.
void append_retry(std::string& out, std::uint32_t ms);
// Appends the keepalive the proxy sends on idle streams: ": keepalive\n\n".
void append_keepalive(std::string& out);
// Appends an event that carries only an id (no data): it moves the client's last event id
// without dispatching a message (the MCP 2025-11-25 priming event shape).
void append_id_only(std::string& out, std::string_view id);

}  // namespace ssestitch::sse
