#pragma once
// The test upstream (`ssestitch-testkit upstream`), shared by upstream.cc (the server and the
// generic SSE stream), upstream_faults.cc (the fault endpoints) and upstream_mcp.cc (the MCP
// emulation).
//
// Every streamed response is a Stream: it owns the ServerRequest until it finishes, aborts, or
// the client goes away, and then "retires": the Server moves it to a graveyard that a Trigger
// empties later in the same loop iteration, so no Stream is ever deleted while one of its own
// callbacks is on the stack. Writes are paced by ServerRequest::backlog() and on_drained(),
// so a connection never holds more than k_backlog_limit plus one event in user space.
// Loop thread only.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/net/address.h"
#include "core/net/event_loop.h"
#include "core/net/headers.h"
#include "core/net/http_server.h"
#include "core/util/result.h"

namespace ssestitch::testkit::upstream {

// A stream stops queueing events while this many bytes wait in its connection's output buffer.
inline constexpr std::size_t k_backlog_limit = 256u << 10;
// Events written per turn when a stream is not rate-limited (then it continues on drain).
inline constexpr int k_batch_events = 64;

struct Options {
  bool mcp_resumable = true;         // --mcp-resumable 0: no ids, resumes answered 405
  bool mcp_get = true;               // --mcp-get 0: no standalone GET stream (405)
  bool mcp_delete = true;            // --mcp-delete 0: sessions cannot be deleted (405)
  bool mcp_unknown_session_400 = false;  // --mcp-unknown-session-400: 400, not 404
  bool mcp_json = false;             // --mcp-json: tools/call answers plain JSON
  bool mcp_hold_resumed = false;     // --mcp-hold-resumed: keep resumed streams open (TS SDK)
  std::int64_t get_interval_ms = 1000;  // --get-interval-ms: standalone GET and listen message period
  std::int64_t listen_drop_every = 0;   // --listen-drop-every N: cut subscriptions/listen after N messages
  bool verbose = false;              // --verbose: one stderr line per request
  int write_timeout_s = 60;          // --write-timeout: net::HttpServer::Limits::write_timeout_s
};

struct Counters {
  std::uint64_t requests = 0;
  std::uint64_t streams = 0;        // streamed responses started
  std::uint64_t events_sent = 0;    // data events queued (all endpoints)
  std::uint64_t resumes = 0;        // requests carrying Last-Event-ID
  std::uint64_t aborts = 0;         // connections cut on purpose (drop_every)
  std::uint64_t client_closed = 0;  // streams whose client went away first
  std::int64_t last_client_closed_ms = 0;  // wall clock of the latest of those
  std::uint64_t tool_calls = 0;     // tools/call executions started (any tool)
};

class Server;

// One streamed response. Subclasses implement pump(): write what is due, then arm m_timer or
// wait for on_drained(); they may call finish() or abort(), after which only the destructor runs.
class Stream : public net::ServerRequest::Observer {
 public:
  Stream(Server& server, net::ServerRequest& request);
  virtual ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  void on_client_closed() noexcept final;
  void on_drained() noexcept final;
  // Runs pump() unless retired, turning exceptions into an aborted connection.
  void pump_safe() noexcept;
  // Ends the response cleanly (finish) or cuts the connection (abort); both retire the stream.
  void finish();
  void abort();
  bool live() const noexcept { return m_request != nullptr; }

 protected:
  virtual void pump() = 0;
  // Whether on_drained() runs pump(); streams paced only by their timer say no.
  virtual bool pump_on_drain() const noexcept { return true; }
  // Called once when the stream retires, before the Server takes it away.
  virtual void on_retire() noexcept {}
  // Sends 200 with the SSE headers plus `extra`.
  void start_sse(const net::Headers& extra = {});
  void write(std::string_view bytes);
  std::size_t backlog() const noexcept;

  Server& m_server;
  net::ServerRequest* m_request;
  net::Timer m_timer;  // runs pump_safe()

 private:
  void retire() noexcept;
  bool m_retired = false;
};

// The MCP emulation behind /mcp (upstream_mcp.cc).
class McpService {
 public:
  virtual ~McpService() = default;
  virtual void handle(net::ServerRequest& request) = 0;
  virtual std::size_t session_count() const noexcept = 0;
};
std::unique_ptr<McpService> make_mcp_service(Server& server);

class Server {
 public:
  Server(net::EventLoop& loop, Options options);
  // Closes every connection (streams retire), then drops sessions.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the HTTP server. Errors: io_error from net::HttpServer::listen.
  util::Result<void> listen(const net::ListenAddress& address);
  const net::ListenAddress& address() const noexcept;

  net::EventLoop& loop() noexcept { return m_loop; }
  const Options& options() const noexcept { return m_options; }
  Counters& counters() noexcept { return m_counters; }
  std::uint64_t salt() const noexcept { return m_salt; }

  // Takes ownership of a new stream; it lives until it retires.
  template <class T, class... A>
  T& adopt(net::ServerRequest& request, A&&... args) {
    auto owned = std::make_unique<T>(*this, request, std::forward<A>(args)...);
    T& ref = *owned;
    m_streams.emplace(&ref, std::move(owned));
    ++m_counters.streams;
    return ref;
  }
  // Called by Stream::retire(): the stream is destroyed later in this loop iteration.
  void retire(Stream* stream) noexcept;
  // The counters as one JSON object (GET /stats and the exit line).
  std::string stats_json() const;

 private:
  void handle(net::ServerRequest& request);
  void handle_events(net::ServerRequest& request);
  void handle_status(net::ServerRequest& request);

  net::EventLoop& m_loop;
  Options m_options;
  Counters m_counters;
  std::uint64_t m_salt;
  std::unordered_map<std::string, bool> m_conflicted;  // resumable=409: targets already answered 409
  std::unordered_map<Stream*, std::unique_ptr<Stream>> m_streams;
  std::vector<std::unique_ptr<Stream>> m_retired;
  net::Trigger m_reaper;
  std::unique_ptr<McpService> m_mcp;
  std::unique_ptr<net::HttpServer> m_http;
};

// The fault endpoints (upstream_faults.cc). Each answers `request` with a stream it adopts:
// /endless: `data:` lines forever, never a blank line (64 KiB per 10 ms at most);
// /big: one event with a `size`-byte payload, then a small one, then the end;
// /stall: one event, then silence with the connection open;
// /drip: `n` events written one byte per millisecond.
void serve_endless(Server& server, net::ServerRequest& request);
void serve_big(Server& server, net::ServerRequest& request, std::size_t size);
void serve_stall(Server& server, net::ServerRequest& request);
void serve_drip(Server& server, net::ServerRequest& request, std::int64_t n);
// /framing: `n` events in every legal framing (BOM, LF/CRLF/CR, comments, split writes).
void serve_framing(Server& server, net::ServerRequest& request, std::int64_t n);

// SSE and payload helpers shared by the upstream's files.

// Appends `n` padding bytes ('x').
void append_pad(std::string& out, std::size_t n);
// `{"k":K,"t":NOW,"pad":"xx.."}`, padded so that it is `size` bytes when size allows.
std::string make_payload(std::int64_t k, std::size_t size);
// Appends one SSE event: optional `event:` and `id:` lines, one `data:` line, blank line.
// `data` must not contain line ends.
void append_event(std::string& out, std::string_view id, std::string_view type, std::string_view data);
// The standard response headers of an SSE stream.
net::Headers sse_headers();

}  // namespace ssestitch::testkit::upstream
