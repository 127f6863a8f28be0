#pragma once
// RetryPolicy: which requests the proxy may send again when their answer stream broke and
// cannot be resumed (DESIGN.md guarantee 12; the re-issue itself is proxy/reissue.h).
//
// Safe: the methods that change nothing on the server (mcp::is_retry_safe: ping, the lists,
// reads, prompts/get, completion/complete, server/discover), and tools/call of a tool that the
// server itself calls read-only or idempotent (annotations.readOnlyHint / idempotentHint in the
// tools/list answer the proxy last forwarded in the same scope: the session, or "" for the
// upstream's stateless 2026-07-28 traffic), or that --retry-tools names. `subscriptions/listen`
// (2026-07-28) is re-opened rather than re-issued: it only listens. Nothing else, ever: a
// second execution of a tool with effects is worse than an error.
//
// Annotations are hints from the server, and the server is the one that would run the call twice:
// trusting them is trusting the party that bears the cost. `--no-retry` turns re-issue off.
//
// Bounded: at most k_max_scopes scopes (the oldest learned is forgotten first) of at most
// k_max_tools tools each. Loop thread only.

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ssestitch::proxy {

class RetryPolicy {
 public:
  static constexpr std::size_t k_max_scopes = 4096;
  static constexpr std::size_t k_max_tools = 4096;

  enum class Verdict {
    never,    // the client gets a JSON-RPC error when the answer is lost
    reissue,  // sent again under a proxy-owned id
    listen,   // subscriptions/listen: opened again, under the client's id (its subscription id)
  };

  RetryPolicy(bool enabled, std::vector<std::string> extra_tools);

  // The verdict for one request (`method`, its whole `body`) sent in `scope`.
  Verdict judge(std::string_view scope, std::string_view method, std::string_view body) const;
  // A tools/list answer forwarded in `scope` (a JSON-RPC response; pages add up).
  void learn_tools(std::string_view scope, std::string_view response);
  // The scope ended (its session closed or expired).
  void forget(std::string_view scope);

 private:
  bool m_enabled;
  std::unordered_set<std::string> m_extra_tools;
  std::unordered_map<std::string, std::unordered_set<std::string>> m_safe_tools;  // by scope
  std::deque<std::string> m_scope_order;  // oldest first, for the bound
};

}  // namespace ssestitch::proxy
