#include "core/proxy/message_metrics.h"

#include "core/proxy/metrics.h"

namespace ssestitch::proxy {

void MessageMetrics::observe(const Observed& observed) noexcept {
  const tape::Message& m = observed.message();
  if (m.from_proxy) ++m_metrics.messages_from_proxy;
  if (m.direction == tape::Direction::to_server) {
    try {
      const std::string& kind = observed.summary().kind;
      ++m_metrics.client_messages[kind.empty() ? "none" : kind];  // bounded: summarize's kinds
    } catch (...) {
      // out of memory counting: not counted
    }
    return;
  }
  if (m.status >= 100 && m.status < 600) ++m_metrics.answers_by_class[m.status / 100];
}

}  // namespace ssestitch::proxy
