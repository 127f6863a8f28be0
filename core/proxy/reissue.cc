#include "core/proxy/reissue.h"

#include "core/mcp/message.h"
#include "core/mcp/rewrite.h"
#include "core/util/random.h"

namespace ssestitch::proxy {

Reissue::Reissue(std::string body, std::string client_id, RetryPolicy::Verdict verdict)
    : m_body(std::move(body)), m_client_id(std::move(client_id)), m_current_id(m_client_id), m_verdict(verdict) {}

std::string Reissue::next_body() {
  ++m_attempts;
  if (m_verdict != RetryPolicy::Verdict::reissue) return m_body;  // listen: the client's id
  m_current_id = "\"ssestitch-r" + std::to_string(m_attempts) + "-" + util::random_hex(6) + "\"";
  return mcp::with_id(m_body, m_current_id).value_or(m_body);
}

Reissue::Pass Reissue::filter(std::string_view data, std::string& rewritten) {
  rewritten.clear();
  if (auto p = mcp::progress_of(data)) {
    auto it = m_progress.find(p->token);
    if (it != m_progress.end() && p->value <= it->second) return Pass::drop;
    if (it != m_progress.end()) {
      it->second = p->value;
    } else if (m_progress.size() < k_max_tokens) {
      m_progress.emplace(std::move(p->token), p->value);
    }
    return Pass::forward;
  }
  if (listen() && data.find("notifications/subscriptions/acknowledged") != std::string_view::npos &&
      mcp::method_of(data) == "notifications/subscriptions/acknowledged") {
    if (m_acknowledged) return Pass::drop;
    m_acknowledged = true;
    return Pass::forward;
  }
  const auto id = mcp::response_id(data);
  if (!id || *id != m_current_id) return Pass::forward;
  if (m_current_id != m_client_id) {
    if (auto mapped = mcp::with_id(data, m_client_id)) rewritten = std::move(*mapped);
  }
  m_answered = true;
  return Pass::answer;
}

}  // namespace ssestitch::proxy
