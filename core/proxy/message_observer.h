#pragma once
// MessageObserver: the one hook on the proxy's message path (DESIGN.md "tapes"). Every MCP
// message that passes the proxy's MCP endpoint (not generic SSE), in both directions and in the order the proxy handles them,
// is shown to each observer as a tape::Message (core/tape/message.h): the client's request as
// it is forwarded (once, not its re-sends), each JSON answer whole, each SSE event of an answer
// or a stream (the sessions era's with the stream and seq the log keeps it under, after the
// commit that lets it reach the client), statuses without a body, and the answers the proxy
// writes itself. Implementations: the message counters (proxy/message_metrics.h), the recorder
// (proxy/recorder.h) and the tap (proxy/tap.h); a new observer is one class.
//
// Observers run on the loop thread, inline: they must not block (the tap hands lines to its
// own thread) and must not throw. With none registered the message path does no extra work.

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/proxy/context.h"
#include "core/tape/message.h"

namespace ssestitch::proxy {

// One message as the observers see it: the message, and what its body is (tape::summarize),
// read once, and only if an observer asks (a logged SSE event that nobody classifies costs no
// parse).
class Observed {
 public:
  explicit Observed(const tape::Message& message) : m_message(message) {}
  const tape::Message& message() const noexcept { return m_message; }
  const tape::Summary& summary() const {
    if (!m_summary) m_summary = tape::summarize(m_message.body);
    return *m_summary;
  }

 private:
  const tape::Message& m_message;
  mutable std::optional<tape::Summary> m_summary;
};

class MessageObserver {
 public:
  virtual ~MessageObserver() = default;
  virtual void observe(const Observed& observed) noexcept = 0;
  // The session closed or expired (no message of it follows).
  virtual void session_ended(std::string_view session) noexcept { (void)session; }
};

class Observers {
 public:
  void add(std::unique_ptr<MessageObserver> observer) { m_observers.push_back(std::move(observer)); }
  bool active() const noexcept { return !m_observers.empty(); }
  void observe(const tape::Message& message) noexcept {
    const Observed observed(message);
    for (auto& o : m_observers) o->observe(observed);
  }
  void session_ended(std::string_view session) noexcept {
    for (auto& o : m_observers) o->session_ended(session);
  }

 private:
  std::vector<std::unique_ptr<MessageObserver>> m_observers;
};

// Whether any observer listens (Context::observers may be absent in unit tests).
inline bool observing(const Context& ctx) noexcept { return ctx.observers != nullptr && ctx.observers->active(); }

// A message from the server (or, with `from_proxy`, from the proxy) to the client.
inline tape::Message to_client(std::string_view session, std::int64_t time_ms, int status,
                               std::string_view content_type, std::string_view body) {
  tape::Message m;
  m.direction = tape::Direction::to_client;
  m.session = session;
  m.time_ms = time_ms;
  m.status = status;
  m.content_type = content_type;
  m.body = body;
  return m;
}

}  // namespace ssestitch::proxy
