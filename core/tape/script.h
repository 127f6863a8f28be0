#pragma once
// tape::Script: a recorded conversation as the server's side of it, for `replay --serve` as a
// mock MCP server (cmd/replay_mock.h): one Exchange per recorded client request, with what the
// server answered: a JSON body, or the events of an SSE answer in order (notifications, requests
// of the server such as sampling/createMessage, and the response), each with its delay after
// the request. Built from tape lines (core/tape/reader.h, or a tape file, core/tape/file.h).
//
// Matching (match_key): a request is the method and its params in canonical form without any
// "_meta" (mcp::canonical_params: the JSON-RPC id, progress tokens and other per-run values do
// not count); `initialize` by its method alone (client names and capabilities vary). The same key
// recorded several times is answered in recording order.
//
// Attribution of answers: a JSON answer (or an error) to its request by id; the status line of an
// SSE answer to the oldest request still waiting for one, and the events of that stream (the log's
// stream N) to it; 2026-07-28 events (no stream) to the oldest SSE answer still open.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.h"

namespace ssestitch::tape {

std::string match_key(std::string_view request_body);

struct ScriptEvent {
  std::int64_t delay_ms = 0;  // after the request
  std::string data;           // one JSON-RPC message
};

struct Exchange {
  std::string method;
  std::string key;             // match_key()
  std::string id;              // the recorded request's id (canonical JSON)
  std::string progress_token;  // its params._meta.progressToken (canonical JSON), "" without
  int status = 0;              // 0: never answered in the recording
  std::string content_type;
  bool sse = false;
  std::vector<ScriptEvent> events;  // SSE: in order; JSON: the one body
};

struct Script {
  std::vector<Exchange> exchanges;  // in recording order
  // The first exchange with `key` not yet used, marked used; nullptr when none is left.
  Exchange* take(std::string_view key);

 private:
  std::vector<bool> m_used;
};

// Errors: invalid_argument for lines that are not tape lines, or a tape recorded without
// bodies (--record metadata: nothing to answer with).
util::Result<Script> build_script(const std::vector<std::string>& lines);

}  // namespace ssestitch::tape
