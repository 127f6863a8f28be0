#pragma once
// Stream: one tracked SSE stream (a POST-born MCP stream, an MCP session's GET stream, or a
// generic SSE GET), which outlives both the client connection and the upstream connection.
//
// The problem: an SSE stream crosses two unreliable connections, and either can drop while the
// other stays. The client must see one unbroken stream, every event exactly once and in order,
// whether the upstream dropped (we reconnect it), the client dropped (it resumes from our log),
// or we were killed (we resume both from the store).
//
// The approach: a thin owner of two legs and of what they share. Per event: upstream bytes ->
// UpstreamStream (sse::Parser) -> on_upstream_block(): EventTracker::observe (dedup, seq) ->
// formatted with our id "<stream>-<seq>" into the outbox and handed to the CommitPipeline ->
// once committed (on_committed), StreamRelay writes it to the attached client if it is live.
// The Stream keeps the record (state, pending request ids, final seq), the outbox and
// finish(); UpstreamStream keeps the upstream connection alive across drops; StreamRelay
// serves the one client (replay, live, keepalive, linger). The legs never call each other:
// backpressure goes through the owner (StreamRelay::lagging() is asked by the upstream leg
// through client_holds_upstream(); client_released() lets it read again).
//
// A POST stream completes when every request id of its POST has its response forwarded (the
// TypeScript SDK never closes a resumed stream); one that cannot be resumed (the server
// restarted, or sent no event ids) has its request sent again when it is safe to repeat
// (allow_reissue(), proxy/reissue.h: the events of every attempt pass through the Reissue),
// and otherwise ends with a JSON-RPC error for each request still waiting (DESIGN.md
// behaviour 2). Kept in memory only: after a proxy restart nothing is re-issued.
//
// Rejected: forwarding before commit (a kill -9 could lose what the client saw); one class for
// both legs (843 lines where each half called into the other).
// Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "core/net/headers.h"
#include "core/net/http_server.h"
#include "core/net/upstream_client.h"
#include "core/proxy/context.h"
#include "core/proxy/reissue.h"
#include "core/proxy/stream_follower.h"
#include "core/proxy/stream_relay.h"
#include "core/proxy/upstream_stream.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

class Stream final : private UpstreamStream::Owner, private StreamRelay::Owner, private StreamFollower::Owner {
 public:
  // `upstream_headers`: the forwardable headers of the request that opened the stream
  // (credentials included; kept in memory only), reused for reconnects.
  Stream(Context& ctx, store::StreamRecord record, net::Headers upstream_headers);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  std::uint64_t number() const noexcept { return m_record.stream; }
  const store::StreamRecord& record() const noexcept { return m_record; }
  bool is_open() const noexcept { return m_record.state == store::StreamState::open; }
  bool has_client() const noexcept { return m_relay.attached(); }
  bool had_client() const noexcept { return m_relay.had_client(); }

  // Takes over a transfer that was answered 200 text/event-stream (called from inside its
  // on_response callback).
  void adopt_upstream(std::unique_ptr<net::Transfer> transfer) { m_upstream.adopt(std::move(transfer)); }
  // After a restart: reconnect the upstream from the stored cursor, or end the stream if it
  // cannot be resumed.
  void recover(std::uint64_t recovered_seq);
  // The session moved to a restarted server: reconnect now (UpstreamStream::reopen_now).
  void reopen_upstream(std::function<void()> answered) { m_upstream.reopen_now(std::move(answered)); }
  // The POST's one request may be sent again if the stream cannot be resumed; `learn_tools`:
  // it is tools/list, whose answer tells RetryPolicy which tools are safe to repeat.
  void allow_reissue(Reissue reissue, bool learn_tools) {
    m_reissue = std::make_unique<Reissue>(std::move(reissue));
    m_learn_tools = learn_tools;
  }
  // A stream opened without a client (the proxy's early GET): it lingers until one attaches.
  void await_client() { m_relay.linger(); }
  // Attaches a client: replays events with seq > after_seq from the log, then delivers live.
  void attach_client(net::ServerRequest& request, std::uint64_t after_seq) { m_relay.attach(request, after_seq); }
  // The durable state, with the tracker's cursor and next seq, for the next store batch.
  store::StreamRecord snapshot();
  // Called by the pipeline: events up to `upto_seq` are committed (or failed, when !durable).
  void on_committed(std::uint64_t upto_seq, bool durable);
  // Another proxy sharing the store took this stream over (this one stalled past its liveness
  // TTL) and the store refused our events: they are dropped unforwarded, the upstream is
  // stopped, and the stream is followed from the store, the client staying attached and
  // getting the new owner's events (the same seq numbers, committed there).
  void on_fenced();
  // Another proxy sharing the store reads this stream (RedisStore): do not read the upstream;
  // follow what that proxy commits (StreamFollower), and take the stream over when it is gone.
  // Nothing is written to the store while following.
  void follow();
  bool following() const noexcept { return m_follower != nullptr && m_follower->running(); }
  // The proxy is stopping: end the client's response cleanly and drop the upstream; the stream
  // stays open in the store so a restarted proxy resumes it.
  void shutdown();
  // The MCP session was deleted or expired: end the stream.
  void end_session();
  // Nothing left to do: finished, no client, nothing waiting for a commit, no transfer.
  bool collectable() const noexcept;

 private:
  // UpstreamStream::Owner
  bool client_holds_upstream() const noexcept override { return m_relay.lagging(); }
  bool on_upstream_block(const sse::Event& event, std::int64_t arrival_ms) override;
  bool awaiting_responses() const noexcept override { return !m_pending.empty(); }
  std::optional<std::string> reissue_body() override;
  void on_upstream_end(UpstreamStream::End end, std::string_view reason) override;
  // StreamRelay::Owner
  std::uint64_t last_seq() const override;
  std::uint64_t committed_seq() const noexcept override { return m_committed_seq; }
  std::optional<std::uint64_t> final_seq() const noexcept override;
  void client_released() override { m_upstream.client_released(); }
  void linger_expired() override;
  // StreamFollower::Owner
  bool followed(const store::StreamRecord& record) override;
  void owner_gone() override;

  std::uint64_t append_event(std::optional<std::string_view> upstream_id, std::string_view type,
                             std::string_view data);
  void end_not_resumable(std::string_view reason);
  // Reconnects the upstream from the tracker's cursor, or ends a POST stream that has none.
  void resume_upstream();
  // Shows one logged event to the message observers (proxy/message_observer.h).
  void observe(std::uint64_t seq, std::int64_t arrival_ms, std::string_view data, bool from_proxy);
  void finish(store::StreamState state, std::optional<std::uint64_t> final_seq);
  bool stateful_mcp() const noexcept { return m_record.kind != store::StreamKind::generic; }

  Context& m_ctx;
  store::StreamRecord m_record;
  std::unordered_set<std::string> m_pending;  // request ids still waiting (POST streams)
  Outbox m_outbox;                            // formatted, not yet committed
  std::uint64_t m_committed_seq = 0;
  std::optional<std::uint64_t> m_final_seq;   // once finished: the client's response ends here
  UpstreamStream m_upstream;
  StreamRelay m_relay;
  std::unique_ptr<Reissue> m_reissue;  // POST streams of one retry-safe request (168 bytes: on
                                       // the heap, not in every idle GET stream)
  bool m_learn_tools = false;
  std::string m_mapped;              // Reissue::filter's rewritten data
  std::unique_ptr<StreamFollower> m_follower;  // while another proxy reads the stream
};

}  // namespace ssestitch::proxy
