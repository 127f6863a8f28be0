#pragma once
// Stream: one tracked SSE stream (a POST-born MCP stream, an MCP session's GET stream, or a
// generic SSE GET), which outlives both the client connection and the upstream connection.
//
// The problem: an SSE stream crosses two unreliable connections, and either can drop while the
// other stays. The client must see one unbroken stream, every event exactly once and in order,
// whether the upstream dropped (we reconnect it), the client dropped (it resumes from our log),
// or we were killed (we resume both from the store).
//
// The approach, per event: upstream bytes -> sse::Parser -> EventTracker::observe (dedup, seq)
// -> formatted with our id "<stream>-<seq>" into the outbox and handed to the CommitPipeline
// -> once committed, written to the attached client if it is live. A client that attaches with
// Last-Event-ID first replays from the store (in chunks, paced by the drain callback), and
// switches to live delivery when the store has nothing newer than what it sent: committed
// events are always in the store, so replay and live never overlap and never leave a hole.
//
// Upstream leg: at most one Transfer at a time (never two live connections for one stream).
// When it ends, the stream is resumed with GET + Last-Event-ID (the upstream's last id) after
// Backoff's delay (retry: floor, full jitter, Retry-After), re-opened without an id when there
// is none (GET and generic streams), or, for a POST stream that cannot be resumed, ended with a
// JSON-RPC error for each request still waiting. A POST stream completes when every request id
// of its POST has its response forwarded (the TypeScript SDK never closes a resumed stream).
// A generic stream whose response ends cleanly without a retry: field completes (the server
// ended it on purpose); only resets, truncations and idle timeouts count as drops.
//
// Client leg: at most one client at a time; a second resume replaces the first. Keepalive
// comments on idle clients; a client whose unsent backlog passes --client-buffer stops getting
// live writes and catches up from the log as it drains (bounded memory, no disconnect for a
// burst); a client that stops reading is evicted by the server's write timeout. A client that
// catches up more slowly than the upstream produces holds the upstream (paused transfer, TCP
// backpressure as on a direct connection) before retention could evict what it has not read;
// without a client the upstream is read and logged at full speed. Without a client the upstream keeps being read and logged for
// --linger, then the stream is abandoned.
//
// Options rejected: broadcasting to several clients (MCP forbids it: one stream, one
// consumer); forwarding before commit (a kill -9 could lose what the client saw); pausing the
// upstream as soon as a client is slow (a burst would stall the log; we hold it only when the
// lag nears retention);
// disconnecting a client that falls behind (a burst would cut fast readers too).
// Loop thread only.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "core/net/event_loop.h"
#include "core/net/http_server.h"
#include "core/net/upstream_client.h"
#include "core/proxy/backoff.h"
#include "core/proxy/context.h"
#include "core/sse/parser.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

class Stream final : private net::Transfer::Observer, private net::ServerRequest::Observer {
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
  bool has_client() const noexcept { return m_client != nullptr; }

  // Takes over a transfer that was answered 200 text/event-stream (called from inside its
  // on_response callback); this stream becomes its observer.
  void adopt_upstream(std::unique_ptr<net::Transfer> transfer);
  // After a restart: reconnect the upstream from the stored cursor, or end the stream if it
  // cannot be resumed.
  void recover(std::uint64_t recovered_seq);
  // Attaches a client: starts its SSE response if not started, replays events with
  // seq > after_seq from the log, then delivers live.
  void attach_client(net::ServerRequest& request, std::uint64_t after_seq);
  // The durable state, with the tracker's cursor and next seq, for the next store batch.
  store::StreamRecord snapshot();
  // Called by the pipeline: events up to `upto_seq` are committed (or failed, when !durable).
  void on_committed(std::uint64_t upto_seq, bool durable);
  // The proxy is stopping: end the client's response cleanly and drop the upstream; the stream
  // stays open in the store so a restarted proxy resumes it.
  void shutdown();
  // The MCP session was deleted or expired: end the stream.
  void end_session();
  // Nothing left to do: finished, no client, nothing waiting for a commit, no transfer.
  bool collectable() const noexcept;

 private:
  // net::Transfer::Observer
  void on_response(int status, const net::Headers& headers) noexcept override;
  net::Transfer::BodyAction on_body(std::string_view bytes) noexcept override;
  void on_done(const util::Result<void>& result) noexcept override;
  // net::ServerRequest::Observer
  void on_client_closed() noexcept override;
  void on_drained() noexcept override;

  void on_block(const sse::Event& event);
  std::uint64_t append_event(std::optional<std::string_view> upstream_id, std::string_view type,
                             std::string_view data);
  void upstream_ok();
  void resume_upstream();
  bool client_lagging() const noexcept;
  void release_client_pause();
  void made_progress();
  void upstream_lost(std::string_view reason);
  void reconnect_failed(int status, const net::Headers& headers);
  void schedule_reconnect(std::string_view reason, std::optional<std::int64_t> retry_after_ms);
  void start_reconnect();
  void end_not_resumable(std::string_view reason);
  void finish(store::StreamState state);
  void drop_transfer();
  void check_idle();
  void replay_step();
  void deliver(std::uint64_t upto_seq);
  void write_to_client(std::string_view bytes);
  void maybe_finish_client();
  void detach_client(bool abort);
  void keepalive_tick();
  void linger_expired();
  bool stateful_mcp() const noexcept;
  std::int64_t now_ms() const;
  std::uint64_t last_seq() const;  // the newest seq assigned on this stream

  Context& m_ctx;
  store::StreamRecord m_record;
  net::Headers m_upstream_headers;
  std::unordered_set<std::string> m_pending;  // request ids still waiting (POST streams)

  // upstream leg
  std::unique_ptr<net::Transfer> m_transfer;
  bool m_transfer_ok = false;        // the current transfer was answered 200 text/event-stream
  bool m_sent_last_event_id = false; // the current attempt asked to resume
  bool m_resume_with_id = true;      // false after the upstream refused our Last-Event-ID
  bool m_paused = false;             // paused because the pipeline is full
  bool m_paused_for_client = false;  // paused because the attached client lags (client_lagging)
  bool m_progress = false;           // the current connection brought a fresh event or id
  bool m_saw_retry = false;          // the current connection sent retry:
  sse::Parser m_parser;
  std::int64_t m_last_byte_ns = 0;
  std::int64_t m_max_gap_ns = 0;     // longest silence seen on a healthy upstream
  Backoff m_backoff;
  net::Timer m_reconnect_timer;
  net::Timer m_idle_timer;
  net::Trigger m_cleanup;            // destroys cancelled transfers outside libcurl callbacks

  // commit and client leg
  std::deque<std::pair<std::uint64_t, std::string>> m_outbox;  // formatted, not yet committed
  std::uint64_t m_committed_seq = 0;
  std::optional<std::uint64_t> m_final_seq;  // the stream ends once this seq is delivered
  net::ServerRequest* m_client = nullptr;
  std::uint64_t m_sent_seq = 0;
  bool m_replaying = false;
  std::int64_t m_last_write_ns = 0;
  std::string m_out;
  net::Timer m_keepalive;
  net::Timer m_linger;
};

}  // namespace ssestitch::proxy
