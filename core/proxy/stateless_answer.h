#pragma once
// StatelessAnswer: the SSE answer of one MCP 2026-07-28 POST, passed to its client as it comes
// (DESIGN.md "MCP eras", guarantee 12). The era has no event ids and no resumption, so the
// answer is not a tracked Stream: complete events only are forwarded (a cut never leaves half an
// event), with keepalives; closing the client's response cancels the request (the Exchange
// drops the transfer).
//
// A single request is watched for its response (proxy/reissue.h). When the answer breaks or
// ends before it, the request is lost: RetryPolicy's safe requests are sent again (backoff as
// reconnects, at most Reissue::k_max_attempts within --reconnect-budget; a listen that opens
// again is healthy and is not counted), the attempts' events filtered into one answer; any
// other request, or one whose attempts ran out, gets one JSON-RPC error event and the response
// ends cleanly. A re-issue may be answered with JSON: that body is delivered as one event.
// A tools/list answer teaches RetryPolicy the upstream's read-only and idempotent tools.
// Loop thread only. Memory: one SSE parser, and a JSON answer up to --max-body-size.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/net/headers.h"
#include "core/proxy/backoff.h"
#include "core/proxy/context.h"
#include "core/proxy/keepalive.h"
#include "core/proxy/reissue.h"
#include "core/sse/parser.h"
#include "core/util/result.h"

namespace ssestitch::proxy {

class StatelessAnswer {
 public:
  class Owner {
   public:
    // Bytes for the client (its response has started).
    virtual void answer_write(std::string_view bytes) = 0;
    // Send the request again with `body` after `delay_ms` (the current transfer is over).
    virtual void answer_again(std::string body, std::int64_t delay_ms) = 0;
    // The answer is complete, or lost and the client told: end the client's response.
    virtual void answer_done() = 0;

   protected:
    ~Owner() = default;
  };

  // `reissue`: the one request of the POST (nullopt for batches and bodies that are not one
  // request: passed through, not watched). `learn_tools`: it is tools/list.
  StatelessAnswer(Context& ctx, Owner& owner, std::optional<Reissue> reissue, bool learn_tools);

  // The first attempt was answered 200 text/event-stream and the client's response started.
  void start();
  // Whether the answer is watched for its response (one request); an unwatched answer that
  // breaks is cut for the client as it was upstream.
  bool watched() const noexcept { return m_reissue.has_value(); }
  // Whether the current attempt is a re-issue (its status goes to attempt_answered()).
  bool reissuing() const noexcept { return m_reissuing; }
  // A re-issue's status line and headers.
  void attempt_answered(int status, const net::Headers& headers);
  // Body bytes of the current attempt. An error (malformed SSE): the caller cuts the response.
  util::Result<void> feed(std::string_view bytes);
  // The current attempt's transfer ended (`result`: cleanly or not; an unwatched answer only
  // cleanly).
  void ended(const util::Result<void>& result);
  // The client is gone.
  void stop() { m_keepalive.stop(); }

 private:
  void pass(const sse::Event& event);
  void lost(std::string_view why);
  void observe(std::string_view data, bool from_proxy);

  Context& m_ctx;
  Owner& m_owner;
  std::optional<Reissue> m_reissue;
  bool m_learn_tools;
  sse::Parser m_parser;
  Keepalive m_keepalive;
  std::optional<Backoff> m_backoff;  // from the first break on
  bool m_reissuing = false;
  enum class Attempt { sse, json, refused };
  Attempt m_attempt = Attempt::sse;  // how the current attempt was answered
  std::string m_json;                // a re-issue's JSON answer
  std::string m_out;                 // what one feed() writes
  std::string m_mapped;              // Reissue::filter's rewritten data
};

}  // namespace ssestitch::proxy
