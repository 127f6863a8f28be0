#pragma once
// UpstreamClient and Transfer: HTTP requests to the upstream, driven by our EventLoop, with two
// engines behind one Transfer interface:
//   - Http1Transfer (http1_transfer.h), our own HTTP/1.1 client, for plain http:// URLs whose
//     host is a numeric IPv4 or IPv6 address: one socket and one parser per transfer, a read
//     buffer shared by all of them, idle connections kept per origin (Http1Pool). Measured
//     against libcurl on the same streams (peer-bench, 2026-12-06; figures in http1_transfer.h):
//     libcurl spent a poll() and its multi bookkeeping on every read, and an easy handle and a
//     64 KiB download buffer on every transfer.
//   - CurlTransfer (here), libcurl's multi_socket API (the hiperfifo pattern; deps notes §3 and
//     STYLE.md 3b: UpstreamClient = GlobalInfo (owns CURLM and the timer), SocketWatch =
//     SockInfo, CurlTransfer = ConnInfo), for https:// (TLS, HTTP/2), host names (threaded
//     DNS), and for every URL with HttpEngine::curl (`proxy --upstream-client curl`).
// Both: no redirects followed (a 3xx is a response like any other), no content decoding (we
// ask for identity), 1xx responses skipped, connection refused reported as upstream_refused.
//
// Observers may throw: the trampolines catch, log, and end the transfer as failed (libcurl is
// told so through its callback's error value), never letting an exception into C frames.
// Callback rules. libcurl refuses its multi API (add, remove) while any of its callbacks runs,
// for any transfer of the multi; UpstreamClient defers both until libcurl has returned
// (settle()), so observers may start, cancel and destroy Transfers, including other ones,
// from on_response() and on_body(). Two exceptions: never destroy the Transfer whose callback
// is running, and never call resume() from inside a callback.
//   - on_done() runs last, outside the engine's own work: the Transfer may be destroyed there.
//   - After cancel() or destruction no callback runs again.
//   - No callback runs inside Transfer::start().
// Loop thread only. Call init_process() once before any thread starts.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/net/curl_handles.h"
#include "core/net/event_loop.h"
#include "core/net/headers.h"
#include "core/net/http1_pool.h"
#include "core/util/result.h"

namespace ssestitch::net {

// Process-wide set-up that must run before threads start: curl_global_init and SIGPIPE ignored.
void init_process();

struct TlsOptions {
  std::string cacert;     // CA bundle file ("" = system default)
  std::string capath;     // CA directory
  bool insecure = false;  // skip peer and host verification
};

// Which engine serves http:// URLs with a numeric host (`proxy --upstream-client`); https and
// host names always go through libcurl.
enum class HttpEngine { own, curl };

struct UpstreamRequest {
  std::string method = "GET";
  std::string url;                   // absolute http(s) URL
  Headers headers;                   // sent as given (the caller filters hop-by-hop headers)
  std::string body;
  std::int64_t connect_timeout_ms = 10'000;
  std::int64_t total_timeout_ms = 0; // 0: none (streams)
};

class UpstreamClient;
class CurlTransfer;
class Http1Transfer;

class Transfer {
 public:
  enum class BodyAction { consume, pause };

  class Observer {
   public:
    // The final (non-1xx) response's status and headers.
    virtual void on_response(int status, const Headers& headers) = 0;
    // A piece of the body. `pause`: the engine keeps the bytes and offers them again after
    // resume().
    virtual BodyAction on_body(std::string_view bytes) = 0;
    // The transfer ended: ok after a complete response, else an error: upstream_refused
    // (connection refused: nothing was sent), upstream_unreachable (DNS/TLS), timeout, upstream_protocol (reset mid-body and other I/O errors).
    virtual void on_done(const util::Result<void>& result) = 0;

   protected:
    ~Observer() = default;
  };

  // Starts the request at once, on the engine the URL calls for (above). Errors:
  // invalid_argument (bad URL), internal.
  static util::Result<std::unique_ptr<Transfer>> start(UpstreamClient& client, UpstreamRequest request,
                                                       Observer* observer);
  virtual ~Transfer() = default;  // the engines' destructors cancel()
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // Stops the transfer; no callback runs afterwards. Safe inside this transfer's callbacks.
  virtual void cancel() = 0;
  // Stops the transfer like cancel(), but from inside on_body the engine may first parse the
  // bytes it already holds, telling no one, and keep the connection for another request when
  // the response ends exactly there (an MCP POST's stream ends with its answer, the last chunk
  // right behind it). Otherwise, and on libcurl, the same as cancel().
  virtual void cancel_keeping_connection() { cancel(); }
  // Lets a paused transfer continue. Not from inside this transfer's callbacks.
  virtual void resume() = 0;
  // Hands the callbacks to another observer (e.g. from inside on_response, when an exchange
  // hands an SSE response over to a stream).
  void set_observer(Observer* observer) noexcept {
    if (!m_cancelled) m_observer = observer;
  }
  bool paused() const noexcept { return m_paused; }
  // Inside on_body: the bytes come from a read that filled the engine's buffer, so more of the
  // response is probably waiting in the socket (the reader is behind its upstream). The own
  // HTTP/1.1 engine only; libcurl's transfers always say false.
  bool backlogged() const noexcept { return m_backlogged; }
  bool finished() const noexcept { return m_finished; }
  bool cancelled() const noexcept { return m_cancelled; }
  int status() const noexcept { return m_status; }
  std::string_view url() const noexcept { return m_request.url; }

 protected:
  Transfer(UpstreamRequest request, Observer* observer)
      : m_request(std::move(request)), m_observer(observer) {}

  UpstreamRequest m_request;
  Observer* m_observer;
  int m_status = 0;
  bool m_paused = false;
  bool m_backlogged = false;
  bool m_finished = false;
  bool m_cancelled = false;
  Headers m_response_headers;  // while they are read; released once on_response has them
};

class UpstreamClient {
 public:
  static util::Result<std::unique_ptr<UpstreamClient>> create(EventLoop& loop, TlsOptions tls,
                                                              HttpEngine engine = HttpEngine::own);
  // All Transfers must be destroyed first.
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  EventLoop& loop() noexcept { return m_loop; }
  // Transfers started and not yet finished or cancelled, both engines.
  std::size_t active() const noexcept { return m_transfers.size() + m_http1_active; }

 private:
  friend class Transfer;
  friend class CurlTransfer;
  friend class Http1Transfer;
  struct SocketWatch;
  UpstreamClient(EventLoop& loop, TlsOptions tls, HttpEngine engine);
  static int on_socket(void* easy, int fd, int what, void* clientp, void* socketp) noexcept;
  static int on_timer(void* multi, long timeout_ms, void* clientp) noexcept;
  static void on_socket_event(int fd, short what, void* arg) noexcept;
  void on_timeout();
  void drain_completed();
  // Marks a transfer that left m_transfers finished and tells its observer (unless cancelled).
  void finish(CurlTransfer& transfer, const util::Result<void>& result);
  util::Result<void> add(CurlTransfer& transfer);
  // Takes the handle out of the multi (later, from inside a callback: see settle()).
  void remove(CurlTransfer& transfer) noexcept;
  // Frees a removed handle and its header list, at once or once it is out of the multi.
  void release(CurlEasy easy, CurlSlist header_list) noexcept;
  // Carries out the adds and removes deferred while inside libcurl callbacks.
  void settle();

  EventLoop& m_loop;
  TlsOptions m_tls;
  CurlMulti m_multi;
  std::unique_ptr<Timer> m_timer;
  std::uint64_t m_next_serial = 1;
  std::unordered_map<void*, CurlTransfer*> m_transfers;  // CURL* -> live transfer
  struct Unlinking {
    void* easy;                 // CURL*, muted, still in the multi
    CurlEasy owned;             // its Transfer is gone: freed here once removed
    CurlSlist header_list;      // freed with it
  };
  int m_callback_depth = 0;           // observers running inside libcurl callbacks
  std::vector<Unlinking> m_unlinking;  // removes deferred by remove()
  std::vector<void*> m_pending_adds;   // CURL* added inside a callback, not yet in the multi

  // Http1Transfer's: the read buffer all of them share (loop thread: one reads at a time; a
  // paused transfer copies what it has not consumed), idle connections, the live count.
  std::unique_ptr<char[]> m_http1_buffer;
  Http1Pool m_http1_pool;
  std::size_t m_http1_active = 0;
  HttpEngine m_engine;
};

}  // namespace ssestitch::net
