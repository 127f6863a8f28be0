#include "core/net/http1_transfer.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "core/net/address.h"
#include "core/net/guarded.h"
#include "core/util/clock.h"

namespace ssestitch::net {

namespace {

// Where a URL this engine serves points: the socket address, the Host header and the pool key.
struct Target {
  std::string address;         // sockaddr_in or sockaddr_in6 bytes
  std::string host_header;     // "127.0.0.1:8080", "[::1]:8080" ("host" alone for port 80)
  std::string origin;          // "host:port"
  std::string request_target;  // path and query ("/" when absent)
};

std::optional<Target> parse_target(std::string_view url) {
  if (!url.starts_with("http://")) return std::nullopt;
  auto parsed = parse_http_url(url);
  if (!parsed) return std::nullopt;
  Target t;
  std::string_view host = parsed->host;
  if (host.starts_with('[')) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(parsed->port);
    const std::string bare(host.substr(1, host.size() - 2));
    if (inet_pton(AF_INET6, bare.c_str(), &sa.sin6_addr) != 1) return std::nullopt;
    t.address.assign(reinterpret_cast<const char*>(&sa), sizeof sa);
  } else {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(parsed->port);
    const std::string bare(host);
    if (inet_pton(AF_INET, bare.c_str(), &sa.sin_addr) != 1) return std::nullopt;
    t.address.assign(reinterpret_cast<const char*>(&sa), sizeof sa);
  }
  t.origin.append(parsed->host).append(":").append(std::to_string(parsed->port));
  t.host_header = parsed->port == 80 ? parsed->host : t.origin;
  const std::string_view rest = url.substr(7);
  const auto slash = rest.find_first_of("/?");
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (path.empty() || path.front() == '?') t.request_target.append("/");
  t.request_target.append(path);
  return t;
}

std::string request_bytes(const UpstreamRequest& r, const Target& t) {
  std::string out;
  out.reserve(256 + r.body.size());
  out.append(r.method).append(" ").append(t.request_target).append(" HTTP/1.1\r\n");
  if (!r.headers.has("Host")) out.append("Host: ").append(t.host_header).append("\r\n");
  for (const Header& h : r.headers.all()) {
    if (!is_safe_header_value(h.value) || !is_safe_header_value(h.name)) continue;
    // Framing is ours to say; no 100-continue round trip.
    if (iequals(h.name, "Content-Length") || iequals(h.name, "Transfer-Encoding") || iequals(h.name, "Expect")) continue;
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (!r.headers.has("Accept")) out.append("Accept: */*\r\n");  // as libcurl
  if (r.method == "POST" || r.method == "PUT" || r.method == "PATCH" || !r.body.empty()) {
    out.append("Content-Length: ").append(std::to_string(r.body.size())).append("\r\n");
  }
  out.append("\r\n").append(r.body);
  return out;
}

std::string errno_text(std::string_view call, int err) { return std::string(call) + ": " + std::strerror(err); }

std::int64_t now_ns() { return util::system_clock().mono_ns(); }

Http1Transfer* self_of(http_parser* p) { return static_cast<Http1Transfer*>(p->data); }

}  // namespace

const http_parser_settings Http1Transfer::k_settings = [] {
  http_parser_settings s{};
  s.on_header_field = &Http1Transfer::on_header_field;
  s.on_header_value = &Http1Transfer::on_header_value;
  s.on_headers_complete = &Http1Transfer::on_headers_complete;
  s.on_body = &Http1Transfer::on_body_data;
  s.on_message_complete = &Http1Transfer::on_message_complete;
  return s;
}();

Http1Transfer::Http1Transfer(UpstreamClient& client, UpstreamRequest request, Observer* observer)
    : Transfer(std::move(request), observer), m_client(client) {
  http_parser_init(&m_parser, HTTP_RESPONSE);
  m_parser.data = this;
  ++m_client.m_http1_active;
}

util::Result<std::unique_ptr<Transfer>> Http1Transfer::start(UpstreamClient& client, UpstreamRequest& request,
                                                             Observer* observer) {
  std::optional<Target> target = parse_target(request.url);
  if (!target) return std::unique_ptr<Transfer>();  // libcurl's, `request` untouched
  std::unique_ptr<Http1Transfer> t(new Http1Transfer(client, std::move(request), observer));
  t->m_origin = std::move(target->origin);
  t->m_address = std::move(target->address);
  t->m_out = request_bytes(t->m_request, *target);
  t->m_head = t->m_request.method == "HEAD";
  // The request lives on in m_out; the copy in m_request is not needed again.
  t->m_request.body = std::string();
  t->m_request.headers = Headers();
  t->m_timer = std::make_unique<Timer>(client.loop(), [raw = t.get()] {
    if (!raw->m_start_error.message.empty()) {
      util::Error e = std::move(raw->m_start_error);
      raw->fail(e.code, e.message);
      return;
    }
    const std::int64_t now = now_ns();
    if (raw->m_connect_deadline_ns != 0 && now >= raw->m_connect_deadline_ns) {
      raw->fail(util::Errc::timeout, "connect: no connection within " + std::to_string(raw->m_request.connect_timeout_ms) + " ms");
    } else if (raw->m_total_deadline_ns != 0 && now >= raw->m_total_deadline_ns) {
      raw->fail(util::Errc::timeout, "no complete response within " + std::to_string(raw->m_request.total_timeout_ms) + " ms");
    } else {
      raw->arm_timeouts();
    }
  });
  if (t->m_request.total_timeout_ms > 0) t->m_total_deadline_ns = now_ns() + t->m_request.total_timeout_ms * 1'000'000;
  if (auto connected = t->connect(true); !connected) {
    // No callback inside start(): the error is reported from the loop.
    t->m_start_error = std::move(connected).error();
    t->m_timer->arm_ms(0);
  } else {
    t->arm_timeouts();
    // A connected socket (a pooled one) takes the request now, not a loop turn later.
    if (t->m_connect_deadline_ns == 0) t->send_pending(true);
  }
  return std::unique_ptr<Transfer>(std::move(t));
}

Http1Transfer::~Http1Transfer() { cancel(); }

void Http1Transfer::cancel() {
  m_cancelled = true;
  m_observer = nullptr;
  end(false);
}

void Http1Transfer::cancel_keeping_connection() {
  if (!m_in_feed || m_finished) return cancel();
  m_cancelled = true;
  m_observer = nullptr;
  m_draining = true;  // feed() ends the transfer once it has parsed what it holds
}

void Http1Transfer::resume() {
  if (!m_paused || m_finished) return;
  m_paused = false;
  m_backlogged = false;
  http_parser_pause(&m_parser, 0);
  if (!m_held.empty()) {
    std::string held = std::move(m_held);
    m_held.clear();
    BodyAction action = BodyAction::consume;
    Observer* observer = m_observer;
    const bool ok = observer == nullptr || guarded("on_body", [&] { action = observer->on_body(held); });
    if (m_cancelled) return;
    if (!ok) return fail(util::Errc::upstream_protocol, "the body could not be handed over");
    if (action == BodyAction::pause) {
      m_held = std::move(held);
      m_paused = true;
      return;
    }
  }
  if (!m_unparsed.empty()) {
    const std::string rest = std::move(m_unparsed);
    m_unparsed.clear();
    if (feed(rest.data(), rest.size()) == Fed::stop) return;
  }
  if (m_read) event_add(m_read.get(), nullptr);
}

util::Result<void> Http1Transfer::connect(bool may_reuse) {
  if (may_reuse) {
    if (util::UniqueFd pooled = m_client.m_http1_pool.take(m_origin)) {
      m_fd = std::move(pooled);
      m_reused = true;
      m_connect_deadline_ns = 0;
      return watch();
    }
  }
  const auto* sa = reinterpret_cast<const sockaddr*>(m_address.data());
  util::UniqueFd fd(::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return util::fail(util::Errc::io_error, errno_text("socket", errno));
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (::connect(fd.get(), sa, static_cast<socklen_t>(m_address.size())) == 0) {
    m_connect_deadline_ns = 0;
  } else if (errno == EINPROGRESS) {
    m_connect_deadline_ns = now_ns() + std::max<std::int64_t>(m_request.connect_timeout_ms, 1) * 1'000'000;
  } else {
    const int err = errno;
    return util::fail(err == ECONNREFUSED ? util::Errc::upstream_refused : util::Errc::upstream_unreachable,
                      errno_text("connect", err));
  }
  m_fd = std::move(fd);
  return watch();
}

util::Result<void> Http1Transfer::watch() {
  event_base* base = m_client.loop().base();
  // Read once connected; the write event sends the request (and sees the connect end).
  m_read.reset(event_new(base, m_fd.get(), EV_READ | EV_PERSIST, &Http1Transfer::on_read_event, this));
  m_write.reset(event_new(base, m_fd.get(), EV_WRITE | EV_PERSIST, &Http1Transfer::on_write_event, this));
  if (!m_read || !m_write || event_add(m_write.get(), nullptr) != 0) {
    return util::fail(util::Errc::internal, "event_add failed for an upstream socket");
  }
  if (m_connect_deadline_ns == 0 && event_add(m_read.get(), nullptr) != 0) {
    return util::fail(util::Errc::internal, "event_add failed for an upstream socket");
  }
  return util::ok();
}

void Http1Transfer::arm_timeouts() {
  std::int64_t next = 0;
  for (const std::int64_t d : {m_connect_deadline_ns, m_total_deadline_ns}) {
    if (d != 0 && (next == 0 || d < next)) next = d;
  }
  if (next == 0) {
    m_timer->cancel();
  } else {
    m_timer->arm_us(std::max<std::int64_t>(0, (next - now_ns()) / 1000));
  }
}

void Http1Transfer::on_write_event(int, short, void* arg) noexcept {
  auto* self = static_cast<Http1Transfer*>(arg);
  if (self->m_connect_deadline_ns != 0) {
    self->on_connected();
    return;
  }
  self->send_pending();
}

void Http1Transfer::on_connected() {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(m_fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    return fail(err == ECONNREFUSED ? util::Errc::upstream_refused : util::Errc::upstream_unreachable,
                errno_text("connect", err));
  }
  m_connect_deadline_ns = 0;
  arm_timeouts();
  if (event_add(m_read.get(), nullptr) != 0) return fail(util::Errc::internal, "event_add failed for an upstream socket");
  send_pending();
}

bool Http1Transfer::send_pending(bool from_start) {
  while (m_out_sent < m_out.size()) {
    const ssize_t n = ::send(m_fd.get(), m_out.data() + m_out_sent, m_out.size() - m_out_sent, MSG_NOSIGNAL);
    if (n > 0) {
      m_out_sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // the write event stays
    if (from_start) return true;
    const int err = n < 0 ? errno : EPIPE;
    if (retry_fresh()) return false;
    fail(util::Errc::upstream_protocol, errno_text("send", err));
    return false;
  }
  m_write.reset();  // all sent
  m_sent_all = true;
  if (m_got_bytes) m_out = std::string();  // the server answers: never sent again
  return true;
}

void Http1Transfer::on_read_event(int, short, void* arg) noexcept { static_cast<Http1Transfer*>(arg)->on_readable(); }

void Http1Transfer::on_readable() {
  char* buffer = m_client.m_http1_buffer.get();
  // A few reads per wake-up at most, so that one fast upstream does not hold the loop.
  for (int reads = 0; reads < 4; ++reads) {
    const ssize_t n = ::recv(m_fd.get(), buffer, k_read_buffer_bytes, 0);
    if (n > 0) {
      if (!m_got_bytes) {
        // The server answers: the request is not sent again, and need not be kept once sent
        // (the rest of a body still goes out: an interim 100 Continue may come first).
        m_got_bytes = true;
        if (m_sent_all) m_out = std::string();
      }
      const bool full = static_cast<std::size_t>(n) == k_read_buffer_bytes;
      m_backlogged = full;  // for the observer's on_body (Transfer::backlogged)
      if (feed(buffer, static_cast<std::size_t>(n)) == Fed::stop) return;  // maybe gone: untouched
      m_backlogged = false;
      if (!full) return;
      continue;
    }
    if (n == 0) return on_eof();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    const int err = errno;
    if (retry_fresh()) return;
    return fail(util::Errc::upstream_protocol, errno_text("recv", err));
  }
}

Http1Transfer::Fed Http1Transfer::feed(const char* data, std::size_t len) {
  m_in_feed = true;
  const std::size_t parsed = http_parser_execute(&m_parser, &k_settings, data, len);
  m_in_feed = false;
  // Reusable when both messages ended exactly: the response complete, all of the request sent
  // (a server may answer before it has read the body), nothing read beyond the response.
  const bool reusable = m_complete && m_sent_all && http_should_keep_alive(&m_parser) != 0 && parsed == len;
  if (m_draining) {  // cancelled inside this read: no callback runs, the observer is gone
    end(reusable);
    return Fed::stop;
  }
  if (m_cancelled) return Fed::stop;
  if (m_callback_failed) {
    fail(util::Errc::upstream_protocol, "the response could not be handed over");
    return Fed::stop;
  }
  if (m_complete) {
    complete(reusable);
    return Fed::stop;
  }
  const http_errno err = HTTP_PARSER_ERRNO(&m_parser);
  if (err == HPE_PAUSED) {  // the observer paused on a body slice
    m_unparsed.append(data + parsed, len - parsed);
    event_del(m_read.get());
    return Fed::stop;
  }
  if (err != HPE_OK) {
    fail(util::Errc::upstream_protocol, std::string("malformed response: ") + http_errno_description(err));
    return Fed::stop;
  }
  if (m_parser.upgrade != 0) {
    fail(util::Errc::upstream_protocol, "the server switched protocols");
    return Fed::stop;
  }
  return Fed::more;
}

void Http1Transfer::on_eof() {
  if (!m_got_bytes) {
    if (retry_fresh()) return;
    return fail(util::Errc::upstream_protocol, "the server closed the connection without a response");
  }
  http_parser_execute(&m_parser, &k_settings, nullptr, 0);  // ends a close-delimited body
  if (m_cancelled) return;
  if (m_callback_failed) return fail(util::Errc::upstream_protocol, "the response could not be handed over");
  if (!m_complete) return fail(util::Errc::upstream_protocol, "the connection closed before the response ended");
  complete(false);
}

bool Http1Transfer::retry_fresh() {
  if (!m_reused || m_got_bytes) return false;
  close_connection(false);
  m_reused = false;
  m_out_sent = 0;
  m_sent_all = false;
  if (auto connected = connect(false); !connected) {
    util::Error e = std::move(connected).error();
    fail(e.code, e.message);
    return true;
  }
  arm_timeouts();
  return true;
}

void Http1Transfer::close_connection(bool reusable) {
  m_read.reset();
  m_write.reset();
  if (reusable && m_fd) {
    m_client.m_http1_pool.put(m_origin, std::move(m_fd));
  } else {
    m_fd.reset();
  }
}

bool Http1Transfer::end(bool reusable) {
  close_connection(reusable);
  if (m_finished) return false;
  m_finished = true;
  --m_client.m_http1_active;
  if (m_timer) m_timer->cancel();
  return true;
}

void Http1Transfer::complete(bool reusable) {
  if (!end(reusable)) return;
  Observer* observer = m_observer;
  if (observer != nullptr) guarded("on_done", [&] { observer->on_done(util::ok()); });
}

void Http1Transfer::fail(util::Errc code, std::string_view what) {
  if (!end(false)) return;
  Observer* observer = m_observer;
  if (observer == nullptr) return;
  std::string message = "upstream " + m_request.url + ": " + std::string(what);
  guarded("on_done", [&] { observer->on_done(util::fail(code, std::move(message))); });
}

// ----------------------------------------------------------------------------- parser callbacks

int Http1Transfer::on_header_field(http_parser* p, const char* at, std::size_t len) noexcept {
  Http1Transfer* self = self_of(p);
  if (self->m_in_value) {
    self->m_response_headers.add(trim_header_text(self->m_field), trim_header_text(self->m_value));
    self->m_field.clear();
    self->m_value.clear();
    self->m_in_value = false;
  }
  self->m_field.append(at, len);
  return 0;
}

int Http1Transfer::on_header_value(http_parser* p, const char* at, std::size_t len) noexcept {
  Http1Transfer* self = self_of(p);
  self->m_in_value = true;
  self->m_value.append(at, len);
  return 0;
}

int Http1Transfer::on_headers_complete(http_parser* p) noexcept {
  Http1Transfer* self = self_of(p);
  if (self->m_in_value) self->m_response_headers.add(trim_header_text(self->m_field), trim_header_text(self->m_value));
  self->m_field = std::string();
  self->m_value = std::string();
  self->m_in_value = false;
  if (p->status_code < 200) {  // 1xx: another header block follows
    self->m_interim = true;
    self->m_response_headers = Headers();
    return 0;
  }
  self->m_status = static_cast<int>(p->status_code);
  Observer* observer = self->m_observer;
  const bool ok = observer == nullptr ||
                  guarded("on_response", [&] { observer->on_response(self->m_status, self->m_response_headers); });
  self->m_response_headers = Headers();  // the observer took what it needs: not kept for a long stream
  if (self->m_cancelled) return -1;
  if (!ok) {
    self->m_callback_failed = true;
    return -1;
  }
  return self->m_head ? 1 : 0;  // 1: no body follows
}

int Http1Transfer::on_body_data(http_parser* p, const char* at, std::size_t len) noexcept {
  Http1Transfer* self = self_of(p);
  Observer* observer = self->m_observer;
  if (observer == nullptr) return 0;
  BodyAction action = BodyAction::consume;
  const bool ok = guarded("on_body", [&] { action = observer->on_body(std::string_view(at, len)); });
  if (self->m_cancelled) return self->m_draining ? 0 : -1;
  if (!ok) {
    self->m_callback_failed = true;
    return -1;
  }
  if (action == BodyAction::pause) {
    self->m_held.assign(at, len);
    self->m_paused = true;
    http_parser_pause(p, 1);
  }
  return 0;
}

int Http1Transfer::on_message_complete(http_parser* p) noexcept {
  Http1Transfer* self = self_of(p);
  if (self->m_interim) {
    self->m_interim = false;
    return 0;
  }
  self->m_complete = true;
  http_parser_pause(p, 1);  // nothing after this response is parsed
  return 0;
}

}  // namespace ssestitch::net
