#pragma once
// HttpServer: the downstream HTTP/1.1 server (libevent evhttp) with the lifetime rules of
// evhttp wrapped once (deps notes §3): the connection close callback is per connection, a
// streamed request whose client goes away is detached and must be freed by us, evhttp frees
// it itself during evhttp_free(), plain evhttp_send_reply_chunk() would silently drop the
// drain callback, and the final send of a response on a connection that does not persist
// (HTTP/1.0, Connection: close) may free the connection inside the call, so the request is
// unlinked from it first.
//
// Each incoming request becomes a ServerRequest owned by the server. The handler either
// replies at once (reply()), or keeps the reference and answers later (reply(), or start() +
// write()... + finish()). A ServerRequest is destroyed by reply(), finish(), abort(), or after
// its Observer's on_client_closed() returns; never touch it after any of those.
//
// While a reply is pending, the connection is watched for EOF (evhttp itself stops reading once
// a request is complete), so a client that goes away before the first byte is noticed at once
// (MCP 2026-07-28: closing the stream is cancellation). While streaming, unread input from the
// client is capped (read high-water mark) and a write timeout evicts stalled clients.
//
// Limits: header block > max_header_bytes -> 400 (evhttp's status), body > max_body_bytes ->
// 413, a new connection beyond max_connections -> 503 and close, absolute-form targets -> 400.
// An oversize body with a Content-Length is read and discarded before the 413 (evhttp's
// lingering close), so the client always reads the 413 rather than a reset: discarding is bounded
// by the header timeout between reads, not by size (nothing is kept), and a client waiting for
// 100-continue sends its body after its own wait (curl: 1 s). A chunked body that grows past the
// limit is still refused at once (evhttp has no lingering path for chunked bodies), and a
// malformed chunk size gets 413 too, not 400: evhttp maps both to DATA_TOO_LONG and answers
// before any callback of ours, leaving no trace of which it was.
// Loop thread only.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/net/address.h"
#include "core/net/event_loop.h"
#include "core/net/headers.h"
#include "core/util/result.h"

struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evhttp_bound_socket;
struct evbuffer;

namespace ssestitch::net {

class HttpServer;
struct ConnState;

struct EvhttpFree {
  void operator()(evhttp* http) const noexcept;  // evhttp_free
};

class ServerRequest {
 public:
  class Observer {
   public:
    // The client went away before the response finished. The request is destroyed as soon as
    // this returns.
    virtual void on_client_closed() noexcept = 0;
    // Everything written so far has left user space (the connection's output buffer is empty).
    virtual void on_drained() noexcept {}

   protected:
    ~Observer() = default;
  };

  ServerRequest(const ServerRequest&) = delete;
  ServerRequest& operator=(const ServerRequest&) = delete;

  std::string_view method() const noexcept { return m_method; }
  std::string_view target() const noexcept { return m_target; }  // path and query as received
  std::string_view path() const noexcept { return m_path; }      // target without the query
  const Headers& headers() const noexcept { return m_headers; }
  std::string_view body() const noexcept { return m_body; }
  std::string_view peer() const noexcept { return m_peer; }       // client IP address
  std::uint64_t id() const noexcept { return m_id; }              // unique per process, for logs

  void set_observer(Observer* observer) noexcept { m_observer = observer; }

  // Sends a complete response and destroys the request.
  void reply(int status, const Headers& headers, std::string_view body);
  // Starts a streamed (chunked) response.
  void start(int status, const Headers& headers);
  // Writes bytes of a started response: as much as the socket takes at once, the rest is
  // queued (backlog()) and on_drained() follows when that is all written.
  void write(std::string_view bytes);
  // Bytes queued in user space and not yet written to the socket.
  std::size_t backlog() const noexcept;
  bool started() const noexcept { return m_started; }
  // Ends a started response cleanly and destroys the request.
  void finish();
  // Closes the connection without ending the response (the client sees the stream break) and
  // destroys the request. The observer is not called.
  void abort();

 private:
  friend class HttpServer;
  ServerRequest(HttpServer& server, evhttp_request* req, ConnState* conn, std::uint64_t id);
  ~ServerRequest();
  void apply_headers(const Headers& headers);
  // Unlinks this request from its connection and returns the evhttp request to send on.
  evhttp_request* detach() noexcept;
  void write_now();
  // Writes one chunk straight to the socket; false: not possible now, use evhttp's path.
  bool write_direct(std::string_view bytes);

  HttpServer& m_server;
  evhttp_request* m_req;
  ConnState* m_conn;
  Observer* m_observer = nullptr;
  evbuffer* m_chunk = nullptr;
  std::unique_ptr<Trigger> m_drained;  // on_drained() after a write that went out at once
  std::uint64_t m_id;
  bool m_started = false;
  bool m_direct = false;  // write_direct() may be used (after the first chunk, chunked framing)
  std::string m_method, m_target, m_path, m_body, m_peer;
  Headers m_headers;
};

class HttpServer {
 public:
  struct Limits {
    std::size_t max_header_bytes = 16u << 10;
    std::size_t max_body_bytes = 16u << 20;
    std::size_t max_connections = 1024;
    int header_timeout_s = 30;        // reading a request; idle keep-alive connections
    int write_timeout_s = 60;         // a started response makes no progress this long
    std::size_t max_unread_bytes = 64u << 10;  // client input buffered while streaming
  };
  using Handler = std::function<void(ServerRequest&)>;

  // Binds and listens. Errors: io_error naming the address (in use, permission).
  static util::Result<std::unique_ptr<HttpServer>> listen(EventLoop& loop, const ListenAddress& address,
                                                          Limits limits, Handler handler);
  // Frees evhttp: open connections close, pending requests get on_client_closed().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address (the real port when 0 was asked for).
  const ListenAddress& address() const noexcept { return m_address; }
  std::size_t connection_count() const noexcept { return m_conns.size(); }
  // Closes the listening socket; open connections continue.
  void stop_accepting();

 private:
  friend class ServerRequest;
  HttpServer(EventLoop& loop, Limits limits, Handler handler);
  static void on_request(evhttp_request* req, void* arg) noexcept;
  static void on_conn_closed(evhttp_connection* conn, void* arg) noexcept;
  static void on_drained(evhttp_connection* conn, void* arg) noexcept;
  void handle(evhttp_request* req);
  void destroy(ServerRequest* request) noexcept;
  void watch_for_close(ConnState& conn);
  void restore_timeouts(evhttp_connection* conn);

  EventLoop& m_loop;
  Limits m_limits;
  Handler m_handler;
  std::unique_ptr<evhttp, EvhttpFree> m_http;
  evhttp_bound_socket* m_socket = nullptr;
  ListenAddress m_address;
  std::uint64_t m_next_id = 1;
  std::unordered_map<evhttp_connection*, std::unique_ptr<ConnState>> m_conns;
};

}  // namespace ssestitch::net
