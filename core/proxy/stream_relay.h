#pragma once
// StreamRelay: the client leg of a Stream (DESIGN.md "proxy"): the one client connection that
// reads a tracked SSE stream, which may come and go while the stream lives.
//
// The problem: a client must see one unbroken stream, every event exactly once and in order,
// whether it stayed connected, fell behind, or went away and came back with Last-Event-ID; and
// it must never cost the proxy unbounded memory or hold up the log for other streams.
//
// The approach: a client that attaches with Last-Event-ID first replays from the store (in
// chunks, paced by the drain callback) and switches to live delivery when the store has
// nothing newer than what it sent: committed events are always in the store, so replay and
// live never overlap and never leave a hole. At most one client at a time; a second resume
// replaces the first (MCP: one stream, one consumer). Keepalive comments on idle clients. A
// client whose unsent backlog passes --client-buffer stops getting live writes and catches up
// from the log as it drains (bounded memory, no disconnect for a burst); a client that stops
// reading is evicted by the server's write timeout. A client that catches up more slowly than
// the upstream produces holds the upstream (lagging(); the owner's UpstreamStream pauses)
// before retention could evict what it has not read. Without a client the stream lingers for
// --linger, then the owner abandons it.
//
// Rejected: broadcasting to several clients (MCP forbids it); pausing the upstream as soon as
// a client is slow (a burst would stall the log; we hold it only when the lag nears
// retention); disconnecting a client that falls behind (a burst would cut fast readers too).
// Loop thread only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/net/event_loop.h"
#include "core/net/http_server.h"
#include "core/proxy/context.h"
#include "core/proxy/keepalive.h"
#include "core/proxy/outbox.h"

namespace ssestitch::proxy {

class StreamRelay final : private net::ServerRequest::Observer {
 public:
  class Owner {
   public:
    // The newest seq assigned on the stream, committed or not.
    virtual std::uint64_t last_seq() const = 0;
    // Everything up to this seq is committed (in the store).
    virtual std::uint64_t committed_seq() const noexcept = 0;
    // While the stream is open: nullopt. Once it finished: the seq after which the client's
    // response ends.
    virtual std::optional<std::uint64_t> final_seq() const noexcept = 0;
    // The client no longer holds the upstream (it caught up with the log, or left).
    virtual void client_released() = 0;
    // No client came back within --linger.
    virtual void linger_expired() = 0;

   protected:
    ~Owner() = default;
  };

  StreamRelay(Context& ctx, std::uint64_t stream, Owner& owner);
  // Ends an attached client's response cleanly.
  ~StreamRelay();
  StreamRelay(const StreamRelay&) = delete;
  StreamRelay& operator=(const StreamRelay&) = delete;

  bool attached() const noexcept { return m_client != nullptr; }
  // A client was attached once (or is assumed to have been: a stream recovered after a restart).
  bool had_client() const noexcept { return m_had_client; }
  // Attaches a client (replacing one already attached): starts its SSE response if not
  // started, replays events with seq > after_seq from the log, then delivers live.
  void attach(net::ServerRequest& request, std::uint64_t after_seq);
  // Events up to `upto_seq` are committed: those at the front of `outbox` leave it, and go to
  // the client at once when it is live.
  void deliver(Outbox& outbox, std::uint64_t upto_seq);
  // Newer committed events are in the store than were delivered live (a stream another proxy
  // reads, proxy/stream_follower.h): a live client catches up from the log.
  void catch_up();
  // The client catches up from the log more slowly than the stream grows: hold the upstream.
  bool lagging() const;
  // The stream finished: end the client's response once it has everything up to final_seq().
  void maybe_finish();
  // Ends the client's response (abort: cut it, the client sees the stream break).
  void detach(bool abort);
  // Starts or stops the --linger countdown of a stream without a client.
  void linger();
  void stop_linger() { m_linger.cancel(); }
  // Sets where a client recovered after a restart continues from.
  void set_sent(std::uint64_t seq) noexcept {
    m_sent_seq = seq;
    m_had_client = true;
  }

 private:
  // net::ServerRequest::Observer
  void on_client_closed() noexcept override;
  void on_drained() noexcept override;

  void replay_step();
  void write(std::string_view bytes);
  void client_gone();

  Context& m_ctx;
  std::uint64_t m_stream;
  Owner& m_owner;
  net::ServerRequest* m_client = nullptr;
  std::uint64_t m_sent_seq = 0;
  bool m_replaying = false;
  bool m_had_client = false;
  std::string m_out;
  Keepalive m_keepalive;
  net::Timer m_linger;
};

}  // namespace ssestitch::proxy
