#pragma once
// Reissue: one client request whose answer stream may break before the answer (DESIGN.md
// guarantee 12). Every event of the answer, from every attempt, passes through filter().
//
// The problem: when the stream that carries a request's answer breaks and cannot be resumed
// (MCP 2026-07-28 has no resumption; in the 2025 eras, a POST stream after the server
// restarted), the request is lost. The client either hangs, or (2026-07-28) must re-issue it
// itself, and sees again every progress notification it already had.
//
// The approach: the proxy sends the same body again (RetryPolicy says when), under a request id
// of its own ("ssestitch-r<n>-<random>", so a late answer to the first attempt can never be
// taken for the new one), and filter() makes the attempts look like one answer: the answer's id
// is mapped back to the client's, progress notifications at or below the highest value already
// delivered for their token are dropped (progress is monotonic per token), and for
// subscriptions/listen (re-opened under the client's own id, which the server stamps on its
// notifications as the subscription id) the repeated notifications/subscriptions/acknowledged
// is dropped. Without a verdict to re-issue, it only watches for the answer, so the owner knows
// whether a break lost anything (the client then gets one JSON-RPC error, never a second
// execution).
//
// Rejected: keeping the client's id for re-issued calls (an answer of the broken first attempt
// could still arrive on another connection and be taken for the new one); de-duplicating by
// message content (two equal notifications may both be meant).
// Loop thread only. Memory: the body and one entry per progress token (at most k_max_tokens).

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/proxy/retry_policy.h"

namespace ssestitch::proxy {

class Reissue {
 public:
  static constexpr std::size_t k_max_tokens = 64;
  // Re-issues of one request at most (besides --reconnect-budget): a server that breaks the
  // same answer every time is not helped by asking forever. subscriptions/listen is not counted.
  static constexpr unsigned k_max_attempts = 10;

  // `body`: the request as the client sent it; `client_id`: its canonical id (mcp/message.h).
  Reissue(std::string body, std::string client_id, RetryPolicy::Verdict verdict);

  // Whether a lost answer may be asked for again.
  bool allowed() const noexcept { return m_verdict != RetryPolicy::Verdict::never; }
  bool listen() const noexcept { return m_verdict == RetryPolicy::Verdict::listen; }
  // The next attempt's body; counts the attempt.
  std::string next_body();
  unsigned attempts() const noexcept { return m_attempts; }
  const std::string& client_id() const noexcept { return m_client_id; }

  enum class Pass {
    forward,  // deliver `data` (its id may have been mapped)
    drop,     // already delivered
    answer,   // the request's response: deliver `data`, the request is done
  };
  // One event's data of the answer stream. When the event must change (the answer's id mapped
  // back), `rewritten` receives the new data; it is left empty otherwise.
  Pass filter(std::string_view data, std::string& rewritten);
  bool answered() const noexcept { return m_answered; }

 private:
  std::string m_body;
  std::string m_client_id;
  std::string m_current_id;  // the id the upstream answers to now
  RetryPolicy::Verdict m_verdict;
  unsigned m_attempts = 0;
  bool m_answered = false;
  bool m_acknowledged = false;  // listen: the acknowledgement was delivered
  std::unordered_map<std::string, double> m_progress;  // token -> highest value delivered
};

}  // namespace ssestitch::proxy
