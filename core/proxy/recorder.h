#pragma once
// Recorder: `proxy --record full|metadata|off` (default full): every MCP message of a session
// kept in the store, both directions, in order (DESIGN.md "tapes"; issue 26 part 1), so that
// `inspect STORE messages` shows a conversation after the fact.
//
// Format (where it lives: the store has no message table). Each session gets a stream of kind
// `tape` (store/records.h) whose events are the tape::ndjson_line() lines of its messages (the
// fields of ssestitch-proxy(1) TAP FORMAT, without the final LF; with `metadata`, without
// "message" and "body_text"), seq 1, 2, ... in the order the proxy handled them, arrival_ms =
// the line's time_ms. Traffic without a session (2026-07-28) goes to one sessionless tape
// stream per proxy run (session ""). SSE events that the log already keeps are linked, not
// copied: the tape holds the status line of their answer with "stream": N ("seq": 0), and
// `inspect messages` merges stream N's events in by arrival time. Retention and --store-max
// apply to tape events as to any event. Never credentials: only bodies are recorded, no
// header but the content type.
//
// An `initialize` is sent before its session exists: it is held (at most k_max_held) until its
// answer (JSON, or an SSE event) names the session, then recorded in that session's tape; without
// one it goes to the sessionless tape. A session's tape completes when the session ends (what
// still comes, like the answer to the DELETE that ended it, is appended), and at a proxy
// restart, which starts new tapes for the sessions that go on.
//
// Rejected: one store event per SSE event linking it (doubles the store writes of every MCP
// stream); a separate message table (a second retention and format to keep in step).
// Loop thread only.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/proxy/context.h"
#include "core/proxy/message_observer.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

class Recorder final : public MessageObserver {
 public:
  enum class Mode { off, metadata, full };
  static constexpr std::size_t k_max_held = 64;

  Recorder(Context& ctx, Mode mode) : m_ctx(ctx), m_mode(mode) {}

  void observe(const Observed& observed) noexcept override;
  void session_ended(std::string_view session) noexcept override;
  // The record of tape stream `stream` as it is now (CommitPipeline's snapshot of a dirty
  // stream), or nullopt when it is not one of ours.
  std::optional<store::StreamRecord> snapshot(std::uint64_t stream) const;

 private:
  struct Tape {
    store::StreamRecord record;
    bool ended = false;  // the session ended; what still comes (a DELETE's answer) is appended
  };
  static constexpr std::size_t k_max_tapes = 4096;  // beyond: ended tapes are forgotten
  struct Held {
    std::string id;    // the initialize's canonical id
    std::string line;  // its recorded line
    std::int64_t time_ms = 0;
  };
  void record(std::string_view session, std::string line, std::int64_t time_ms);
  void flush_held(std::string_view session, std::string_view id);

  Context& m_ctx;
  Mode m_mode;
  tape::Latencies m_latencies;
  std::unordered_map<std::string, Tape> m_tapes;  // by session ("" = without one)
  std::unordered_map<std::uint64_t, std::string> m_sessions;  // tape stream -> its session
  std::deque<Held> m_held;                        // initialize requests waiting for their session
};

}  // namespace ssestitch::proxy
