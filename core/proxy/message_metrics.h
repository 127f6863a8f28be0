#pragma once
// MessageMetrics: the message observer behind the /metrics counters of MCP messages
// (proxy/message_observer.h): client messages by JSON-RPC kind, answers by HTTP status class,
// and what the proxy answered itself. Bounded labels only (kinds and classes, never methods or
// ids). Classifies client messages only: the SSE events of answers are counted elsewhere
// (events_received / events_forwarded) and cost it nothing. Loop thread only.

#include "core/proxy/message_observer.h"

namespace ssestitch::proxy {

struct Metrics;

class MessageMetrics final : public MessageObserver {
 public:
  explicit MessageMetrics(Metrics& metrics) : m_metrics(metrics) {}
  void observe(const Observed& observed) noexcept override;

 private:
  Metrics& m_metrics;
};

}  // namespace ssestitch::proxy
