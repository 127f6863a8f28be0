#include "core/net/upstream_client.h"

#include <curl/curl.h>
#include <event2/event.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <mutex>
#include <vector>

#include "core/net/guarded.h"
#include "core/net/http1_transfer.h"
#include "core/util/log.h"

namespace ssestitch::net {

void init_process() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
  });
}

// One socket libcurl asked us to watch (SockInfo). Keyed on the fd through curl_multi_assign,
// never on a transfer: libcurl also watches internal sockets (resolver, happy eyeballs).
struct UpstreamClient::SocketWatch {
  EventPtr event;
};

namespace {

CURL* easy_of(void* p) { return static_cast<CURL*>(p); }
CURLM* multi_of(void* p) { return static_cast<CURLM*>(p); }

util::Errc errc_for(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
      return util::Errc::upstream_refused;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return util::Errc::upstream_unreachable;
    case CURLE_OPERATION_TIMEDOUT:
      return util::Errc::timeout;
    default:
      return util::Errc::upstream_protocol;
  }
}

// Callbacks of a handle whose Transfer is gone but which libcurl still holds until it may be
// removed (see UpstreamClient::remove): refuse everything, which ends the transfer.
size_t refuse(char*, size_t, size_t, void*) noexcept { return 0; }

}  // namespace

// ----------------------------------------------------------------------------- CurlTransfer

// A Transfer on libcurl (owns CURL, its header list and error buffer).
class CurlTransfer final : public Transfer {
 public:
  static util::Result<std::unique_ptr<Transfer>> start(UpstreamClient& client, UpstreamRequest request,
                                                       Observer* observer);
  ~CurlTransfer() override;
  void cancel() override;
  void resume() override;

 private:
  friend class UpstreamClient;
  CurlTransfer(UpstreamClient& client, UpstreamRequest request, Observer* observer)
      : Transfer(std::move(request), observer), m_client(client) {}
  static size_t on_header_line(char* data, size_t size, size_t n, void* arg) noexcept;
  static size_t on_write(char* data, size_t size, size_t n, void* arg) noexcept;
  void detach();

  UpstreamClient& m_client;
  CurlEasy m_easy;
  CurlSlist m_header_list;
  std::uint64_t m_serial = 0;
  bool m_headers_done = false;
  char m_error[256] = {};
};

util::Result<std::unique_ptr<Transfer>> Transfer::start(UpstreamClient& client, UpstreamRequest request,
                                                        Observer* observer) {
  if (client.m_engine == HttpEngine::own) {
    auto own = Http1Transfer::start(client, request, observer);
    if (!own || *own) return own;
  }
  return CurlTransfer::start(client, std::move(request), observer);
}

util::Result<std::unique_ptr<Transfer>> CurlTransfer::start(UpstreamClient& client, UpstreamRequest request,
                                                            Observer* observer) {
  std::unique_ptr<CurlTransfer> t(new CurlTransfer(client, std::move(request), observer));
  t->m_easy.reset(curl_easy_init());
  if (!t->m_easy) return util::fail(util::Errc::internal, "curl_easy_init failed");
  CURL* easy = easy_of(t->m_easy.get());
  const UpstreamRequest& r = t->m_request;
  curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->m_error);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &CurlTransfer::on_header_line);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CurlTransfer::on_write);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout_ms));
  if (r.total_timeout_ms > 0) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.total_timeout_ms));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 64L * 1024);
  // Never follow redirects: the client decides, and a resume that redirects is not a resume.
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  const TlsOptions& tls = client.m_tls;
  if (!tls.cacert.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls.cacert.c_str());
  if (!tls.capath.empty()) curl_easy_setopt(easy, CURLOPT_CAPATH, tls.capath.c_str());
  if (tls.insecure) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }

  if (r.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (r.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    if (r.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    if (r.method == "POST" || !r.body.empty()) {
      // Copied: a handle may outlive its Transfer for a moment (UpstreamClient::remove).
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, r.body.data());
    }
  }
  curl_slist* list = nullptr;
  for (const Header& h : r.headers.all()) {
    if (!is_safe_header_value(h.value) || !is_safe_header_value(h.name)) continue;
    std::string line = h.name + ": " + h.value;
    if (h.value.empty()) line = h.name + ";";  // libcurl's syntax for an empty value
    curl_slist* next = curl_slist_append(list, line.c_str());
    if (next == nullptr) break;
    list = next;
  }
  // No "Expect: 100-continue" round trip for POST bodies, no Accept-Encoding we can't parse.
  list = curl_slist_append(list, "Expect:");
  t->m_header_list.reset(list);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);

  if (auto added = client.add(*t); !added) return std::move(added).error();
  return std::unique_ptr<Transfer>(std::move(t));
}

CurlTransfer::~CurlTransfer() {
  cancel();
  detach();
}

void CurlTransfer::detach() {
  if (m_easy) {
    m_client.remove(*this);
    m_client.release(std::move(m_easy), std::move(m_header_list));
  }
}

void CurlTransfer::cancel() {
  m_cancelled = true;
  m_observer = nullptr;
  if (m_easy && !m_finished) {
    m_finished = true;
    m_client.remove(*this);
  }
}

void CurlTransfer::resume() {
  if (!m_paused || !m_easy || m_finished) return;
  m_paused = false;
  // May call on_write synchronously (deps notes: worked and ASan-clean).
  curl_easy_pause(easy_of(m_easy.get()), CURLPAUSE_CONT);
  m_client.settle();
}

size_t CurlTransfer::on_header_line(char* data, size_t size, size_t n, void* arg) noexcept {
  auto* self = static_cast<CurlTransfer*>(arg);
  const size_t len = size * n;
  if (self->m_cancelled) return 0;
  std::string_view line(data, len);
  if (self->m_headers_done) return len;  // trailers: ignored
  if (line.starts_with("HTTP/")) {
    // A new status line starts a new header block (after 1xx responses).
    self->m_response_headers = Headers();
    self->m_status = 0;
    const auto sp = line.find(' ');
    if (sp != std::string_view::npos) {
      std::string_view code = line.substr(sp + 1, 3);
      std::from_chars(code.data(), code.data() + code.size(), self->m_status);
    }
    return len;
  }
  if (trim_header_text(line).empty()) {
    if (self->m_status >= 200) {
      self->m_headers_done = true;
      bool ok = true;
      if (self->m_observer != nullptr) {
        ++self->m_client.m_callback_depth;
        ok = guarded("on_response", [&] { self->m_observer->on_response(self->m_status, self->m_response_headers); });
        --self->m_client.m_callback_depth;
      }
      self->m_response_headers = Headers();  // the observer took what it needs
      if (self->m_cancelled || !ok) return 0;
    }
    return len;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    self->m_response_headers.add(trim_header_text(line.substr(0, colon)), trim_header_text(line.substr(colon + 1)));
  }
  return len;
}

size_t CurlTransfer::on_write(char* data, size_t size, size_t n, void* arg) noexcept {
  auto* self = static_cast<CurlTransfer*>(arg);
  const size_t len = size * n;
  if (self->m_cancelled || self->m_observer == nullptr) return 0;
  BodyAction action = BodyAction::consume;
  ++self->m_client.m_callback_depth;
  const bool ok = guarded("on_body", [&] { action = self->m_observer->on_body(std::string_view(data, len)); });
  --self->m_client.m_callback_depth;
  if (self->m_cancelled || !ok) return 0;
  if (action == BodyAction::pause) {
    self->m_paused = true;
    return CURL_WRITEFUNC_PAUSE;
  }
  return len;
}

// ----------------------------------------------------------------------------- UpstreamClient

UpstreamClient::UpstreamClient(EventLoop& loop, TlsOptions tls, HttpEngine engine)
    : m_loop(loop),
      m_tls(std::move(tls)),
      m_http1_buffer(engine == HttpEngine::own ? new char[Http1Transfer::k_read_buffer_bytes] : nullptr),
      m_engine(engine) {}

util::Result<std::unique_ptr<UpstreamClient>> UpstreamClient::create(EventLoop& loop, TlsOptions tls,
                                                                     HttpEngine engine) {
  init_process();
  std::unique_ptr<UpstreamClient> c(new UpstreamClient(loop, std::move(tls), engine));
  c->m_multi.reset(curl_multi_init());
  if (!c->m_multi) return util::fail(util::Errc::internal, "curl_multi_init failed");
  CURLM* multi = multi_of(c->m_multi.get());
  c->m_timer = std::make_unique<Timer>(loop, [raw = c.get()] { raw->on_timeout(); });
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &UpstreamClient::on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, c.get());
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &UpstreamClient::on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, c.get());
  return c;
}

UpstreamClient::~UpstreamClient() {
  // curl_multi_cleanup may still call the socket and timer callbacks: the timer and watches
  // must outlive it (deps notes §3, teardown order).
  settle();
  m_multi.reset();
  m_timer.reset();
}

util::Result<void> UpstreamClient::add(CurlTransfer& transfer) {
  transfer.m_serial = m_next_serial++;
  if (m_callback_depth > 0) {
    // libcurl refuses its multi API inside a callback (CURLM_RECURSIVE_API_CALL): added by
    // settle() once the callback has returned.
    m_pending_adds.push_back(transfer.m_easy.get());
  } else if (const CURLMcode rc = curl_multi_add_handle(multi_of(m_multi.get()), easy_of(transfer.m_easy.get())); rc != CURLM_OK) {
    return util::fail(util::Errc::internal, std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc));
  }
  m_transfers[transfer.m_easy.get()] = &transfer;
  return util::ok();
}

void UpstreamClient::remove(CurlTransfer& transfer) noexcept {
  void* easy = transfer.m_easy.get();
  auto it = m_transfers.find(easy);
  if (it == m_transfers.end() || it->second != &transfer) return;
  m_transfers.erase(it);
  if (auto pending = std::find(m_pending_adds.begin(), m_pending_adds.end(), easy); pending != m_pending_adds.end()) {
    m_pending_adds.erase(pending);  // never reached the multi
    return;
  }
  if (m_callback_depth == 0) {
    curl_multi_remove_handle(multi_of(m_multi.get()), easy_of(easy));
    return;
  }
  // Inside a callback (this transfer's or another's: an observer may end other transfers),
  // curl_multi_remove_handle would be refused, and the handle would stay in the multi and be
  // freed there. Cut it off from the Transfer, which may be destroyed at once, and remove it
  // in settle().
  CURL* e = easy_of(easy);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &refuse);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, nullptr);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &refuse);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, nullptr);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(e, CURLOPT_PRIVATE, nullptr);
  m_unlinking.push_back(Unlinking{easy, nullptr, nullptr});
}

void UpstreamClient::release(CurlEasy easy, CurlSlist header_list) noexcept {
  for (Unlinking& u : m_unlinking) {
    if (u.easy == easy.get()) {  // still in the multi: settle() frees it once removed
      u.owned = std::move(easy);
      u.header_list = std::move(header_list);
      return;
    }
  }
  // Out of the multi (or never in it): freed here.
}

void UpstreamClient::settle() {
  if (m_callback_depth > 0) return;
  std::vector<Unlinking> unlinking;
  unlinking.swap(m_unlinking);
  for (const Unlinking& u : unlinking) curl_multi_remove_handle(multi_of(m_multi.get()), easy_of(u.easy));
  unlinking.clear();  // frees the handles whose Transfers are gone, now that they are out
  std::vector<void*> adds;
  adds.swap(m_pending_adds);
  for (void* easy : adds) {
    const CURLMcode rc = curl_multi_add_handle(multi_of(m_multi.get()), easy_of(easy));
    if (rc == CURLM_OK) continue;
    auto it = m_transfers.find(easy);
    if (it == m_transfers.end()) continue;
    CurlTransfer& t = *it->second;
    m_transfers.erase(it);
    finish(t, util::fail(util::Errc::internal, std::string("curl_multi_add_handle: ") + curl_multi_strerror(rc)));
  }
}

int UpstreamClient::on_socket(void*, int fd, int what, void* clientp, void* socketp) noexcept {
  auto* self = static_cast<UpstreamClient*>(clientp);
  auto* watch = static_cast<SocketWatch*>(socketp);
  if (what == CURL_POLL_REMOVE) {
    // Not "socket closed": every pause removes and every resume re-adds (deps notes).
    if (watch != nullptr) {
      curl_multi_assign(multi_of(self->m_multi.get()), fd, nullptr);
      delete watch;
    }
    return 0;
  }
  if (watch == nullptr) {
    watch = new (std::nothrow) SocketWatch();
    if (watch == nullptr) return -1;
    curl_multi_assign(multi_of(self->m_multi.get()), fd, watch);
  }
  const short kind = static_cast<short>(((what & CURL_POLL_IN) ? EV_READ : 0) |
                                        ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
  watch->event.reset(event_new(self->m_loop.base(), fd, kind, &UpstreamClient::on_socket_event, self));
  if (!watch->event || event_add(watch->event.get(), nullptr) != 0) return -1;
  return 0;
}

int UpstreamClient::on_timer(void*, long timeout_ms, void* clientp) noexcept {
  auto* self = static_cast<UpstreamClient*>(clientp);
  // Never call libcurl from here (recursion); just (re)arm the one timer.
  if (timeout_ms < 0) {
    self->m_timer->cancel();
  } else {
    self->m_timer->arm_ms(timeout_ms);
  }
  return 0;
}

void UpstreamClient::on_socket_event(int fd, short what, void* arg) noexcept {
  auto* self = static_cast<UpstreamClient*>(arg);
  const int action = ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
  int running = 0;
  curl_multi_socket_action(multi_of(self->m_multi.get()), fd, action, &running);
  self->settle();
  self->drain_completed();
}

void UpstreamClient::on_timeout() {
  int running = 0;
  curl_multi_socket_action(multi_of(m_multi.get()), CURL_SOCKET_TIMEOUT, 0, &running);
  settle();
  drain_completed();
}

void UpstreamClient::drain_completed() {
  // Collect first: an on_done() may cancel or destroy other transfers, whose messages would
  // then point at freed handles. Each entry is re-validated by handle and serial.
  struct Done {
    void* easy;
    std::uint64_t serial;
    CURLcode result;
  };
  std::vector<Done> done;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_of(m_multi.get()), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    auto it = m_transfers.find(msg->easy_handle);
    if (it == m_transfers.end()) continue;
    done.push_back(Done{msg->easy_handle, it->second->m_serial, msg->data.result});
  }
  for (const Done& d : done) {
    auto it = m_transfers.find(d.easy);
    if (it == m_transfers.end() || it->second->m_serial != d.serial) continue;
    CurlTransfer& t = *it->second;
    remove(t);
    util::Result<void> result = util::ok();
    if (d.result != CURLE_OK) {
      std::string msg = t.m_error[0] != '\0' ? std::string(t.m_error) : curl_easy_strerror(d.result);
      result = util::fail(errc_for(d.result), "upstream " + t.m_request.url + ": " + msg);
    }
    finish(t, result);  // may destroy t
  }
}

void UpstreamClient::finish(CurlTransfer& transfer, const util::Result<void>& result) {
  transfer.m_finished = true;
  Transfer::Observer* observer = transfer.m_observer;
  // on_done may destroy the transfer; an exception it throws is logged (guarded).
  if (observer != nullptr && !transfer.m_cancelled) guarded("on_done", [&] { observer->on_done(result); });
}

}  // namespace ssestitch::net
