#include "core/net/http_server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "core/util/log.h"

namespace ssestitch::net {

// Per-connection state: evhttp has one close-callback slot per connection and serves one
// request at a time on it, so the connection remembers the request in flight.
struct ConnState {
  HttpServer* server = nullptr;
  evhttp_connection* conn = nullptr;
  ServerRequest* current = nullptr;
};

namespace {

const char* method_name(evhttp_cmd_type cmd) {
  switch (cmd) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
  }
  return "GET";
}

timeval seconds(int s) { return timeval{s, 0}; }

void send_simple(evhttp_request* req, int status, const char* body, bool close) {
  evkeyvalq* out = evhttp_request_get_output_headers(req);
  evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
  if (close) evhttp_add_header(out, "Connection", "close");
  evbuffer* buf = evbuffer_new();
  evbuffer_add(buf, body, std::char_traits<char>::length(body));
  evhttp_send_reply(req, status, nullptr, buf);
  evbuffer_free(buf);
}

}  // namespace

// ----------------------------------------------------------------------------- ServerRequest

ServerRequest::ServerRequest(HttpServer& server, evhttp_request* req, ConnState* conn, std::uint64_t id)
    : m_server(server), m_req(req), m_conn(conn), m_id(id) {}

ServerRequest::~ServerRequest() {
  if (m_chunk != nullptr) evbuffer_free(m_chunk);
}

void ServerRequest::apply_headers(const Headers& headers) {
  evkeyvalq* out = evhttp_request_get_output_headers(m_req);
  for (const Header& h : headers.all()) {
    if (is_safe_header_value(h.value) && is_safe_header_value(h.name)) {
      evhttp_add_header(out, h.name.c_str(), h.value.c_str());
    }
  }
}

void ServerRequest::reply(int status, const Headers& headers, std::string_view body) {
  if (m_req != nullptr && m_conn != nullptr && !m_started) {
    apply_headers(headers);
    m_server.restore_timeouts(m_conn->conn);
    evhttp_request* req = detach();
    evbuffer* buf = evbuffer_new();
    evbuffer_add(buf, body.data(), body.size());
    evhttp_send_reply(req, status, nullptr, buf);
    evbuffer_free(buf);
  }
  m_server.destroy(this);
}

evhttp_request* ServerRequest::detach() noexcept {
  // Before the final send: for a connection that does not persist (an HTTP/1.0 client,
  // Connection: close) evhttp may free it, and its ConnState, inside the send call, running
  // on_conn_closed(), which must then find no request to report or delete.
  m_conn->current = nullptr;
  m_conn = nullptr;
  return std::exchange(m_req, nullptr);
}

void ServerRequest::start(int status, const Headers& headers) {
  if (m_req == nullptr || m_conn == nullptr || m_started) return;
  apply_headers(headers);
  m_started = true;
  m_chunk = evbuffer_new();
  m_drained = std::make_unique<Trigger>(m_server.m_loop, [this] {
    if (m_conn != nullptr) HttpServer::on_drained(nullptr, m_conn);
  });
  evhttp_send_reply_start(m_req, status, nullptr);
  bufferevent* bev = evhttp_connection_get_bufferevent(m_conn->conn);
  // Streaming: no read timeout (the client legitimately sends nothing), a write timeout to evict
  // stalled readers, and a cap on what a client may send us meanwhile.
  const timeval write_tv = seconds(m_server.m_limits.write_timeout_s);
  bufferevent_set_timeouts(bev, nullptr, &write_tv);
  bufferevent_setwatermark(bev, EV_READ, 0, m_server.m_limits.max_unread_bytes);
  int fd = bufferevent_getfd(bev);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

void ServerRequest::write(std::string_view bytes) {
  if (m_req == nullptr || m_conn == nullptr || !m_started || bytes.empty()) return;
  if (m_direct && write_direct(bytes)) return;
  evbuffer_add(m_chunk, bytes.data(), bytes.size());
  // Always the _with_cb variant: the plain one clears the connection's drain callback.
  evhttp_send_reply_chunk_with_cb(m_req, m_chunk, &HttpServer::on_drained, m_conn);
  // From now on the drain callback is in place and evhttp's framing is known: HTTP/1.1 chunks
  // (HTTP/1.0 clients and HEAD requests keep going through evhttp).
  m_direct = m_req->chunked != 0;
  write_now();
}

bool ServerRequest::write_direct(std::string_view bytes) {
  // What evhttp_send_reply_chunk_with_cb() + write_now() do, without their cost per event (a
  // printf for the chunk size, three evbuffer appends, arming and disarming the write event
  // with its timeout; measured at 0.5 us of the 4 us the proxy spends per paced event): frame
  // the chunk and writev() it while nothing is queued. What the socket does not take joins the
  // connection's output buffer, already framed, for libevent to write; its write callback
  // (evhttp's, which calls on_drained) and the write timeout run as for any queued write.
  bufferevent* bev = evhttp_connection_get_bufferevent(m_conn->conn);
  const int fd = bev ? bufferevent_getfd(bev) : -1;
  if (fd < 0) return false;
  evbuffer* out = bufferevent_get_output(bev);
  if (evbuffer_get_length(out) != 0) return false;
  char head[20];
  const auto [end, ec] = std::to_chars(head, head + sizeof head - 2, bytes.size(), 16);
  if (ec != std::errc{}) return false;
  char* const tail = end;
  tail[0] = '\r';
  tail[1] = '\n';
  static constexpr char k_crlf[] = "\r\n";
  iovec iov[3] = {{head, static_cast<std::size_t>(tail + 2 - head)},
                  {const_cast<char*>(bytes.data()), bytes.size()},
                  {const_cast<char*>(k_crlf), 2}};
  const std::size_t total = iov[0].iov_len + iov[1].iov_len + iov[2].iov_len;
  ssize_t n;
  do {
    n = ::writev(fd, iov, 3);
  } while (n < 0 && errno == EINTR);
  if (n >= 0 && static_cast<std::size_t>(n) == total) {
    m_drained->fire();
    return true;
  }
  // EAGAIN, a partial write, or an error (libevent meets it again on its own write and reports
  // it through the close callback).
  std::size_t skip = n > 0 ? static_cast<std::size_t>(n) : 0;
  for (const iovec& part : iov) {
    const std::size_t from = std::min(skip, part.iov_len);
    skip -= from;
    if (from < part.iov_len) evbuffer_add(out, static_cast<const char*>(part.iov_base) + from, part.iov_len - from);
  }
  bufferevent_enable(bev, EV_WRITE);
  return true;
}

void ServerRequest::write_now() {
  // libevent writes only once the loop reports the socket writable: epoll_ctl(+OUT), another
  // epoll_wait round, writev, epoll_ctl(-OUT) per chunk, which is most of what a proxy adds to
  // an event's latency. Write what the socket takes now instead (as nginx does). If that is
  // everything, nothing is left for libevent to do, so stop it watching for writability (on a
  // changelist base the enable/disable pair costs no syscall); otherwise libevent writes the
  // rest as usual and on_drained() follows.
  bufferevent* bev = evhttp_connection_get_bufferevent(m_conn->conn);
  const int fd = bev ? bufferevent_getfd(bev) : -1;
  if (fd < 0) return;
  evbuffer* out = bufferevent_get_output(bev);
  // A socket bufferevent freezes the front of its output against other writers; it does the
  // same around its own writes.
  evbuffer_unfreeze(out, 1);
  const int n = evbuffer_write(out, fd);
  evbuffer_freeze(out, 1);
  // n < 0 (EAGAIN, or a reset peer): left to libevent, which reports errors through the closecb.
  if (n <= 0 || evbuffer_get_length(out) != 0) return;
  bufferevent_disable(bev, EV_WRITE);
  // libevent calls the drain callback only after writes of its own: keep the promise of
  // on_drained() (write-paced senders wait for it) later in this loop iteration.
  m_drained->fire();
}

std::size_t ServerRequest::backlog() const noexcept {
  if (m_conn == nullptr) return 0;
  bufferevent* bev = evhttp_connection_get_bufferevent(m_conn->conn);
  return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

void ServerRequest::finish() {
  if (m_req != nullptr && m_conn != nullptr) {
    if (!m_started) {
      evhttp_send_reply(detach(), 200, nullptr, nullptr);
    } else {
      bufferevent* bev = evhttp_connection_get_bufferevent(m_conn->conn);
      bufferevent_setwatermark(bev, EV_READ, 0, 0);
      m_server.restore_timeouts(m_conn->conn);
      evhttp_send_reply_end(detach());
    }
  }
  m_server.destroy(this);
}

void ServerRequest::abort() {
  m_observer = nullptr;
  if (m_req != nullptr && m_conn != nullptr) {
    // evhttp_connection_free() runs our close callback synchronously; with the request still
    // attached, libevent frees it, and on_conn_closed() destroys this object.
    evhttp_connection_free(m_conn->conn);
    return;
  }
  m_server.destroy(this);
}

// ----------------------------------------------------------------------------- HttpServer

void EvhttpFree::operator()(evhttp* http) const noexcept { evhttp_free(http); }

HttpServer::HttpServer(EventLoop& loop, Limits limits, Handler handler)
    : m_loop(loop), m_limits(limits), m_handler(std::move(handler)) {}

util::Result<std::unique_ptr<HttpServer>> HttpServer::listen(EventLoop& loop, const ListenAddress& address,
                                                             Limits limits, Handler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer(loop, limits, std::move(handler)));
  server->m_http.reset(evhttp_new(loop.base()));
  if (!server->m_http) return util::fail(util::Errc::internal, "evhttp_new failed");
  evhttp* http = server->m_http.get();
  evhttp_set_max_headers_size(http, static_cast<ev_ssize_t>(limits.max_header_bytes));
  evhttp_set_max_body_size(http, static_cast<ev_ssize_t>(limits.max_body_bytes));
  // A body over the limit is read and discarded before the 413 goes out. Without this evhttp
  // answers as soon as it knows and closes with the rest of the body unread, the kernel answers
  // the unread bytes with a reset, and a client still sending (or one whose Expect: 100-continue
  // wait ran out) sees "connection reset" instead of the 413.
  evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
  evhttp_set_timeout(http, limits.header_timeout_s);
  evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                       EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
  evhttp_set_gencb(http, &HttpServer::on_request, server.get());
  server->m_socket = evhttp_bind_socket_with_handle(http, address.host.c_str(), address.port);
  if (server->m_socket == nullptr) {
    return util::fail(util::Errc::io_error, "cannot listen on " + address.to_string() + ": " +
                                                evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
  }
  server->m_address = address;
  const evutil_socket_t fd = evhttp_bound_socket_get_fd(server->m_socket);
  // libevent listens with a backlog of 128: a burst of clients (reconnecting together after a
  // restart, or a benchmark opening 10,000 streams) overflowed it, and every dropped SYN cost
  // its client a 1 s retransmission. listen() again on a listening socket only resizes its
  // queue; the kernel caps it at net.core.somaxconn (4096 by default).
  ::listen(fd, SOMAXCONN);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    if (ss.ss_family == AF_INET) {
      server->m_address.port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      server->m_address.port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
  }
  return server;
}

HttpServer::~HttpServer() {
  // evhttp_free() runs every connection's close callback (requests still attached: libevent
  // frees them); on_conn_closed() notifies observers and erases the states.
  m_http.reset();
  m_conns.clear();
}

void HttpServer::stop_accepting() {
  if (m_socket != nullptr) {
    evhttp_del_accept_socket(m_http.get(), m_socket);
    m_socket = nullptr;
  }
}

void HttpServer::restore_timeouts(evhttp_connection* conn) {
  bufferevent* bev = evhttp_connection_get_bufferevent(conn);
  const timeval read_tv = seconds(m_limits.header_timeout_s);
  const timeval write_tv = seconds(m_limits.write_timeout_s);
  bufferevent_set_timeouts(bev, &read_tv, &write_tv);
}

void HttpServer::destroy(ServerRequest* request) noexcept {
  if (request->m_conn != nullptr && request->m_conn->current == request) request->m_conn->current = nullptr;
  delete request;
}

void HttpServer::on_request(evhttp_request* req, void* arg) noexcept {
  auto* self = static_cast<HttpServer*>(arg);
  try {
    self->handle(req);
  } catch (const std::exception& e) {
    util::log(util::LogLevel::error, "internal_error", {{"where", "http request"}, {"what", e.what()}});
  } catch (...) {
    util::log(util::LogLevel::error, "internal_error", {{"where", "http request"}});
  }
}

void HttpServer::handle(evhttp_request* req) {
  evhttp_connection* conn = evhttp_request_get_connection(req);
  if (conn == nullptr) return;
  auto it = m_conns.find(conn);
  if (it == m_conns.end()) {
    if (m_conns.size() >= m_limits.max_connections) {
      send_simple(req, 503, "ssestitch: too many open connections (--max-connections)\n", true);
      return;
    }
    auto state = std::make_unique<ConnState>();
    state->server = this;
    state->conn = conn;
    evhttp_connection_set_closecb(conn, &HttpServer::on_conn_closed, state.get());
    it = m_conns.emplace(conn, std::move(state)).first;
  }
  ConnState* state = it->second.get();

  const char* uri = evhttp_request_get_uri(req);
  std::string_view target = uri ? uri : "";
  if (target.empty() || target.front() != '/') {
    // Absolute-form ("http://host/x") is for forward proxies; we are a reverse proxy.
    send_simple(req, 400, "ssestitch: request target must be a path (origin-form)\n", false);
    return;
  }

  auto* request = new ServerRequest(*this, req, state, m_next_id++);
  request->m_method = method_name(evhttp_request_get_command(req));
  request->m_target = std::string(target);
  request->m_path = request->m_target.substr(0, request->m_target.find('?'));
  evkeyvalq* in = evhttp_request_get_input_headers(req);
  for (evkeyval* kv = in->tqh_first; kv != nullptr; kv = kv->next.tqe_next) {
    request->m_headers.add(kv->key, kv->value);
  }
  evbuffer* body = evhttp_request_get_input_buffer(req);
  if (const std::size_t n = evbuffer_get_length(body); n > 0) {
    request->m_body.resize(n);
    evbuffer_copyout(body, request->m_body.data(), n);
  }
  char* peer = nullptr;
  ev_uint16_t port = 0;
  evhttp_connection_get_peer(conn, &peer, &port);
  if (peer != nullptr) request->m_peer = peer;
  state->current = request;

  m_handler(*request);

  // Compare pointers only: `request` may have been destroyed by the handler's reply(), and the
  // connection's state with it by an abort() (the testkit's upstream cuts an answer so).
  auto after = m_conns.find(conn);
  if (after != m_conns.end() && after->second->current == request) watch_for_close(*after->second);
}

void HttpServer::watch_for_close(ConnState& state) {
  // After reading a request evhttp disables EV_READ until the reply is written, so a client
  // that disconnects while we wait for the upstream would go unnoticed. Re-enable reading with
  // no read callback (bytes just wait in the input buffer; evhttp reads them after the reply),
  // keeping evhttp's event callback, which turns EOF into the close callback.
  bufferevent* bev = evhttp_connection_get_bufferevent(state.conn);
  bufferevent_data_cb readcb = nullptr;
  bufferevent_data_cb writecb = nullptr;
  bufferevent_event_cb eventcb = nullptr;
  void* cbarg = nullptr;
  bufferevent_getcb(bev, &readcb, &writecb, &eventcb, &cbarg);
  bufferevent_setcb(bev, nullptr, writecb, eventcb, cbarg);
  bufferevent_setwatermark(bev, EV_READ, 0, m_limits.max_unread_bytes);
  // No read timeout while the client waits; a response the handler already started keeps its
  // write timeout (stalled readers are still evicted).
  const timeval write_tv = seconds(m_limits.write_timeout_s);
  const bool started = state.current != nullptr && state.current->started();
  bufferevent_set_timeouts(bev, nullptr, started ? &write_tv : nullptr);
  bufferevent_enable(bev, EV_READ);
}

void HttpServer::on_conn_closed(evhttp_connection* conn, void* arg) noexcept {
  auto* state = static_cast<ConnState*>(arg);
  HttpServer* self = state->server;
  if (ServerRequest* request = state->current; request != nullptr) {
    state->current = nullptr;
    request->m_conn = nullptr;
    if (request->m_req != nullptr && evhttp_request_get_connection(request->m_req) == nullptr) {
      // Detached on EOF/timeout/error: libevent left the request to us; this frees it.
      evhttp_send_reply_end(request->m_req);
    }
    request->m_req = nullptr;
    if (request->m_observer != nullptr) {
      try {
        request->m_observer->on_client_closed();
      } catch (...) {
        util::log(util::LogLevel::error, "internal_error", {{"where", "on_client_closed"}});
      }
    }
    delete request;
  }
  self->m_conns.erase(conn);
}

void HttpServer::on_drained(evhttp_connection*, void* arg) noexcept {
  auto* state = static_cast<ConnState*>(arg);
  ServerRequest* request = state->current;
  if (request == nullptr || request->m_observer == nullptr) return;
  try {
    request->m_observer->on_drained();  // may finish or abort the request: touch nothing after
  } catch (...) {
    util::log(util::LogLevel::error, "internal_error", {{"where", "on_drained"}});
  }
}

}  // namespace ssestitch::net
