#pragma once
// What the proxy needs to know of MCP messages (DESIGN.md "mcp"), read with simdjson On-Demand.
// This is the only module that includes simdjson.h. The proxy is not a validator: callers forward
// bodies that fail to classify untouched unless they need to read them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::mcp {

// MCP transport eras (DESIGN.md "MCP eras").
enum class Era {
  sessions,   // 2025-03-26, 2025-06-18, 2025-11-25 (and older / absent header): sessions,
              // GET stream, resumability; disconnect is not cancellation
  stateless,  // 2026-07-28 and later: no sessions, no resumability; disconnect cancels
};
// The era of a request from its MCP-Protocol-Version header value ("" = absent: 2025-03-26).
// Versions are dates; any well-formed date >= 2026-07-28 is stateless, anything else sessions.
Era era_of(std::string_view protocol_version);

enum class Kind { request, notification, response };

struct Message {
  Kind kind = Kind::request;
  std::string id;      // canonical JSON text of the id (requests, responses); "" otherwise
  std::string method;  // requests and notifications
  bool error = false;  // a response carrying "error" rather than "result"
};

struct PostBody {
  bool batch = false;              // the body was a JSON array
  std::vector<Message> messages;
  bool has_initialize() const noexcept;        // contains an "initialize" request
  bool has_initialized() const noexcept;       // contains the "notifications/initialized" notification
  std::vector<std::string> request_ids() const;  // ids of the requests, in order
};

// Canonical id text: integers as plain decimal ("7", "-3"), strings re-encoded as JSON strings
// with minimal escaping ("\"abc\""), so the same id written two ways compares equal; "null"
// only in responses.
//
// Classifies a client's POST body. Errors: json_invalid (not JSON, or trailing garbage),
// not_jsonrpc (JSON but not a JSON-RPC 2.0 message or a non-empty array of them; ids that are
// not strings or integers; an integer id beyond 64 bits).
util::Result<PostBody> classify_post(std::string_view body);

// The canonical ids of the JSON-RPC responses in `data` (an SSE event's data on a POST stream):
// one for a response object, several for a 2025-03-26 batch array of responses, none for
// requests, notifications and anything that is not JSON-RPC.
std::vector<std::string> response_ids(std::string_view data);
// Convenience: the first of response_ids(), or nullopt.
std::optional<std::string> response_id(std::string_view data);

// Whether a request with this method may be sent again when its answer was lost: it changes
// nothing on the server (ping, the lists, reads, prompts/get, completion/complete,
// server/discover). tools/call is not, whatever the tool (only its annotations could say).
bool is_retry_safe(std::string_view method) noexcept;

// The `protocolVersion` of an InitializeResult response body, if present.
std::optional<std::string> initialize_result_version(std::string_view data);

// The raw JSON text of the value at RFC 6901 `pointer` in `json` ("/result/tools"), or nullopt
// when `json` is not JSON or has nothing there. For tools reading responses (bench's smoke test).
std::optional<std::string> json_at(std::string_view json, std::string_view pointer);
// The string at `pointer` (unescaped), or nullopt when there is none.
std::optional<std::string> json_string_at(std::string_view json, std::string_view pointer);
// The number of elements of the array at `pointer`, or nullopt.
std::optional<std::size_t> json_array_size(std::string_view json, std::string_view pointer);

// A JSON-RPC 2.0 error response for canonical id `id`, e.g.
// {"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"..."}}.
std::string error_response(std::string_view id, int code, std::string_view message);

// JSON-RPC error codes the proxy answers with itself (documented in ssestitch-proxy(1)):
// for each pending request of a POST stream whose upstream was lost and cannot be resumed;
inline constexpr int k_error_upstream_lost = -32000;
// for a request naming a session the proxy does not know (404, as the MCP SDK servers answer);
inline constexpr int k_error_session_not_found = -32001;
// for a request refused before it was forwarded (403 Origin, 400 malformed session id).
inline constexpr int k_error_invalid_request = -32600;

}  // namespace ssestitch::mcp
