#pragma once
// What the proxy reads and rewrites in MCP messages to re-issue a request whose answer stream
// broke (DESIGN.md guarantee 12, proxy/reissue.h): the request id, progress notifications, the
// tools/call name and the tools/list annotations that say which tools are safe to repeat.
// simdjson On-Demand, as message.h; nothing here validates more than it needs to read.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssestitch::mcp {

// `json` (one JSON object with a top-level "id" that is a string or an integer) with that id
// replaced by the JSON text `id`; every other byte is kept. nullopt when `json` is not such an
// object.
std::optional<std::string> with_id(std::string_view json, std::string_view id);

// `json` with the value of params.progressToken replaced by the JSON text `token`, or nullopt
// when it has none (a progress notification of a recorded answer, given the new request's).
std::optional<std::string> with_progress_token(std::string_view json, std::string_view token);

// The method of one JSON-RPC request or notification object, or nullopt.
std::optional<std::string> method_of(std::string_view json);

// A notifications/progress message: its token (canonical id text, message.h) and progress value.
struct Progress {
  std::string token;
  double value = 0;
};
std::optional<Progress> progress_of(std::string_view json);

// The tool a tools/call request names (params.name), or nullopt.
std::optional<std::string> tool_name(std::string_view request);

// The tools of a tools/list response (result.tools[]) and whether each is safe to call again:
// annotations.readOnlyHint or annotations.idempotentHint is true. Empty when it is not one.
struct ToolSafety {
  std::string name;
  bool safe = false;
};
std::vector<ToolSafety> tool_safety(std::string_view response);

// The request's `params` as canonical JSON, for matching a request against a recorded one
// (core/tape/script.h): object keys sorted, no whitespace, numbers and strings as written, and
// every "_meta" member left out (progress tokens and other per-run values live there). "{}"
// without params; nullopt when `request` is not a JSON object.
std::optional<std::string> canonical_params(std::string_view request);

}  // namespace ssestitch::mcp
