#include "core/proxy/retry_policy.h"

#include <algorithm>

#include "core/mcp/message.h"
#include "core/mcp/rewrite.h"

namespace ssestitch::proxy {

RetryPolicy::RetryPolicy(bool enabled, std::vector<std::string> extra_tools)
    : m_enabled(enabled), m_extra_tools(extra_tools.begin(), extra_tools.end()) {}

RetryPolicy::Verdict RetryPolicy::judge(std::string_view scope, std::string_view method,
                                        std::string_view body) const {
  if (!m_enabled) return Verdict::never;
  if (method == "subscriptions/listen") return Verdict::listen;
  if (mcp::is_retry_safe(method)) return Verdict::reissue;
  if (method != "tools/call") return Verdict::never;
  const auto name = mcp::tool_name(body);
  if (!name) return Verdict::never;
  if (m_extra_tools.contains(*name)) return Verdict::reissue;
  const auto it = m_safe_tools.find(std::string(scope));
  return it != m_safe_tools.end() && it->second.contains(*name) ? Verdict::reissue : Verdict::never;
}

void RetryPolicy::learn_tools(std::string_view scope, std::string_view response) {
  const std::vector<mcp::ToolSafety> tools = mcp::tool_safety(response);
  if (tools.empty()) return;
  auto it = m_safe_tools.find(std::string(scope));
  if (it == m_safe_tools.end()) {
    if (m_safe_tools.size() >= k_max_scopes) {
      m_safe_tools.erase(m_scope_order.front());
      m_scope_order.pop_front();
    }
    it = m_safe_tools.emplace(std::string(scope), std::unordered_set<std::string>{}).first;
    m_scope_order.emplace_back(scope);
  }
  for (const mcp::ToolSafety& t : tools) {
    if (!t.safe) {
      it->second.erase(t.name);  // the server changed its mind: believe the newest answer
    } else if (it->second.size() < k_max_tools) {
      it->second.insert(t.name);
    }
  }
}

void RetryPolicy::forget(std::string_view scope) {
  if (m_safe_tools.erase(std::string(scope)) == 0) return;
  m_scope_order.erase(std::find(m_scope_order.begin(), m_scope_order.end(), scope));
}

}  // namespace ssestitch::proxy
