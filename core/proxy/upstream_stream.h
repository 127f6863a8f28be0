#pragma once
// UpstreamStream: the upstream leg of a Stream (DESIGN.md "proxy"): the one connection to the
// server that feeds a tracked SSE stream, kept alive across drops.
//
// The problem: the upstream connection drops (resets, idle cuts, deploys, the 2025-11-25
// "polling" close after retry:) and the stream must go on from where it stopped, without
// hammering a server that is down and without giving up on one that is merely slow.
//
// The approach: at most one Transfer at a time (never two live connections for one stream).
// When it ends, the stream is resumed with GET + Last-Event-ID (the upstream's last id) after
// Backoff's delay (retry: floor, full jitter, Retry-After), re-opened without an id when there
// is none (GET and generic streams), or ended through the owner: a POST stream that cannot be
// resumed, a 404 for its session, a spent --reconnect-budget. A generic stream whose response
// ends cleanly without a retry: field completes (the server ended it on purpose); only resets,
// truncations and idle timeouts count as drops. An upstream that stays silent longer than
// --upstream-idle-timeout (and than 1.5x its own longest healthy gap) is dropped and resumed.
//
// After the upstream server restarted ("unknown session" to a reconnect, proxy/reinit.h), the
// stream waits for the session's re-initialisation: a GET stream then re-opens on the new
// upstream session without Last-Event-ID (the tracker forgets the old server's ids; the
// client's seq numbering goes on); a POST stream's request was lost with the old server: it is
// sent again (POST, same session, answered by SSE or JSON) when the owner gives a body
// (Owner::reissue_body(): safe to repeat), and the stream ends as not resumable otherwise. The
// same holds for a POST stream that broke without any event id to resume from.
//
// Backpressure, the small interface with the owner: before reading, the leg asks
// Owner::client_holds_upstream() (the attached client catches up from the log more slowly than
// the upstream fills it) and pauses the transfer (TCP backpressure, as a direct connection
// would); the owner calls client_released() when that ends. A full commit pipeline pauses it
// too, resumed when the pipeline accepts again. Parsed blocks go to Owner::on_upstream_block(),
// which says whether they brought anything new (that resets the backoff).
//
// Rejected: reconnecting in parallel with a live transfer (the server may hold one GET stream
// per session and answer 409); treating every clean close as the end (the polling pattern and
// servers that close after a while would end streams that the client expects to go on).
// Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <optional>
#include <string_view>

#include "core/net/event_loop.h"
#include "core/net/headers.h"
#include "core/net/upstream_client.h"
#include "core/proxy/backoff.h"
#include "core/proxy/context.h"
#include "core/proxy/idle_watch.h"
#include "core/sse/parser.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

class UpstreamStream final : private net::Transfer::Observer {
 public:
  // How the upstream leg ends a stream.
  enum class End {
    completed,      // the server ended it on purpose (clean end, 204, every POST answer in)
    not_resumable,  // it broke and cannot be resumed (the owner answers pending requests)
  };

  class Owner {
   public:
    // The attached client lags so far behind that the upstream must wait for it.
    virtual bool client_holds_upstream() const noexcept = 0;
    // One parsed block, read at `arrival_ms` (wall clock, once per read: the events of one read
    // arrived together); true when it brought a fresh event or event id.
    virtual bool on_upstream_block(const sse::Event& event, std::int64_t arrival_ms) = 0;
    // A POST stream still waiting for responses to some of its request ids.
    virtual bool awaiting_responses() const noexcept = 0;
    // A POST stream that cannot be resumed: the body to send its request again with (counted
    // as an attempt), or nullopt when it must not be (then the stream ends not_resumable).
    virtual std::optional<std::string> reissue_body() = 0;
    // The stream cannot go on upstream; the leg has dropped its transfer and timers.
    virtual void on_upstream_end(End end, std::string_view reason) = 0;

   protected:
    ~Owner() = default;
  };

  // `record`: the owner's record (number, kind, session, target, state), read as it changes.
  // `headers`: the forwardable headers of the request that opened the stream (credentials
  // included; kept in memory only), reused for reconnects.
  UpstreamStream(Context& ctx, const store::StreamRecord& record, net::Headers headers, Owner& owner);
  ~UpstreamStream();
  UpstreamStream(const UpstreamStream&) = delete;
  UpstreamStream& operator=(const UpstreamStream&) = delete;

  // Takes over a transfer answered 200 text/event-stream (from inside its on_response).
  void adopt(std::unique_ptr<net::Transfer> transfer);
  // After a proxy restart: reconnect from the stored cursor.
  void recover();
  // The upstream dropped (or was dropped): resume it, or end the stream through the owner.
  void lost(std::string_view reason);
  // The client no longer holds the upstream (it caught up, or left).
  void client_released();
  // The session was re-initialised on a restarted server (proxy/reinit.h): reconnect now, on
  // the new upstream session. `answered` runs once, when the server answered that attempt, it
  // failed, or the stream stopped.
  void reopen_now(std::function<void()> answered);
  // Drops the transfer and every timer (the stream finished, or the proxy stops).
  void stop();
  bool has_transfer() const noexcept { return static_cast<bool>(m_transfer); }

 private:
  // net::Transfer::Observer
  void on_response(int status, const net::Headers& headers) override;
  net::Transfer::BodyAction on_body(std::string_view bytes) override;
  void on_done(const util::Result<void>& result) override;

  bool is_open() const noexcept { return m_record.state == store::StreamState::open; }
  void healthy();
  void pipeline_accepting();
  void resume_transfer();
  void reconnect_failed(int status, const net::Headers& headers);
  void after_reinit(bool remapped);
  bool switch_upstream_session();
  bool reissue(std::string_view reason);
  void answered();
  void schedule_reconnect(std::string_view reason, std::optional<std::int64_t> retry_after_ms);
  void start_reconnect();
  void end(End end, std::string_view reason);
  void drop_transfer();
  void check_idle();
  std::int64_t now_ms() const;

  Context& m_ctx;
  const store::StreamRecord& m_record;
  net::Headers m_headers;
  Owner& m_owner;
  std::unique_ptr<net::Transfer> m_transfer;
  bool m_transfer_ok = false;        // the current transfer was answered 200 text/event-stream
  bool m_sent_last_event_id = false; // the current attempt asked to resume
  bool m_resume_with_id = true;      // false after the upstream refused our Last-Event-ID
  bool m_paused = false;             // paused because the pipeline is full
  bool m_paused_for_client = false;  // paused because the client holds the upstream
  bool m_progress = false;           // the current connection brought a fresh event or id
  bool m_saw_retry = false;          // the current connection sent retry:
  sse::Parser m_parser;
  IdleWatch m_idle;
  Backoff m_backoff;
  net::Timer m_reconnect_timer;
  net::Timer m_idle_timer;
  net::Trigger m_cleanup;            // destroys cancelled transfers outside libcurl callbacks
  int m_refusal_status = 0;          // a 404/400 to a reconnect, read whole before deciding
  std::string m_refusal_body;
  std::string m_upstream_session;    // the upstream session the tracked ids come from
  std::string m_sent_session;        // the upstream session the current attempt named
  std::function<void()> m_on_answered;  // reopen_now()'s
  std::optional<std::string> m_reissue_body;  // the next attempt POSTs this (a lost request)
  bool m_json_answer = false;        // the re-issued POST was answered with JSON (m_refusal_body)
  // Lets a pipeline callback find this leg only while it lives (it may be gone by then).
  std::shared_ptr<UpstreamStream*> m_alive;
};

}  // namespace ssestitch::proxy
