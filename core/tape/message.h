#pragma once
// tape::Message: one MCP message as it passed the proxy (DESIGN.md "tapes"): a client's request
// or notification, a JSON answer, one SSE event of an answer or a stream, a status without a
// body (202, 404, a DELETE's answer), or an answer the proxy wrote itself. What the proxy's
// observers see (proxy/message_observer.h) and what the tap prints, one NDJSON line per message
// (ssestitch-proxy(1), TAP FORMAT), with stable snake_case fields:
//
//   time_ms       wall clock, milliseconds since the epoch
//   direction     "client_to_server" | "server_to_client"
//   session       the proxy's session id, null without one (2026-07-28, before initialize)
//   http_method   "POST" | "GET" | "DELETE" (client_to_server), else null
//   status        the answer's HTTP status (server_to_client), else null
//   content_type  the answer's media type, else null
//   kind          "request" | "notification" | "response" | "error" | "batch" | "other"
//                 (not JSON-RPC) | null (no body)
//   method        the request's or notification's method, else null
//   id            the request's or response's JSON-RPC id (number or string), else null
//   latency_ms    responses and errors: milliseconds since their request passed, else null
//   size          body bytes
//   stream, seq   an SSE event the store logged: where (`replay --stream N --after SEQ-1`);
//                 seq 0: the status line of the answer that became stream N
//   from_proxy    true when the proxy wrote it (its own errors), not the server
//   message       the body as JSON when it is JSON, else null; body_text: a body that is not
//
// Views only: a Message lives for the observer call. Loop thread only (Latencies).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <list>
#include <unordered_map>

namespace ssestitch::tape {

enum class Direction : std::uint8_t { to_server = 1, to_client = 2 };
std::string_view to_string(Direction d) noexcept;  // "client_to_server" | "server_to_client"

struct Message {
  Direction direction = Direction::to_server;
  std::string_view session;
  std::int64_t time_ms = 0;
  std::string_view http_method;
  int status = 0;
  std::string_view content_type;
  std::string_view body;
  std::size_t size = 0;      // body bytes when `body` was left out (too large to show), else 0
  std::uint64_t stream = 0;  // with seq: an SSE event logged in the store
  std::uint64_t seq = 0;
  bool from_proxy = false;
};

// The request times of the requests in flight, to give responses their latency. Bounded: at most
// k_max requests remembered (the oldest forgotten first).
class Latencies {
 public:
  static constexpr std::size_t k_max = 4096;
  void request(std::string_view session, std::string_view id, std::int64_t time_ms);
  // The latency of the response to `id`, once (the request is forgotten).
  std::optional<std::int64_t> response(std::string_view session, std::string_view id, std::int64_t time_ms);

 private:
  struct Sent {
    std::int64_t time_ms;
    std::list<std::string>::iterator order;
  };
  std::unordered_map<std::string, Sent> m_sent;
  std::list<std::string> m_order;  // oldest first
};

// What a body is: kind ("request", "notification", "response", "error", "batch", "other", or
// "" without a body), method and id (canonical JSON text, mcp/message.h), and whether it is JSON.
struct Summary {
  std::string kind;
  std::string method;
  std::string id;
  bool json = false;
};
Summary summarize(std::string_view body);

// One NDJSON line (with its LF) for `m` (`summary`: summarize(m.body)); notes requests and
// looks up responses in `latencies`. `with_body` false: "message" and "body_text" are left out
// (metadata only).
std::string ndjson_line(const Message& m, const Summary& summary, Latencies& latencies, bool with_body = true);
inline std::string ndjson_line(const Message& m, Latencies& latencies, bool with_body = true) {
  return ndjson_line(m, summarize(m.body), latencies, with_body);
}

}  // namespace ssestitch::tape
