#pragma once
// UpstreamClient and Transfer: HTTP requests to the upstream with libcurl's multi_socket API
// driven by our EventLoop (the hiperfifo pattern; deps notes §3 and STYLE.md 3b):
//   UpstreamClient = GlobalInfo (owns CURLM and the timer), SocketWatch = SockInfo,
//   Transfer = ConnInfo (owns CURL, headers, body, error buffer).
// http:// and https:// (TLS and HTTP/2 negotiated by libcurl), threaded DNS, no redirects
// followed (a 3xx is a response like any other), no content decoding (we ask for identity).
//
// Observers may throw: the trampolines catch, log, and end the transfer as failed (libcurl is
// told so through its callback's error value), never letting an exception into libcurl.
// Callback rules. libcurl refuses its multi API (add, remove) while any of its callbacks runs,
// for any transfer of the multi; UpstreamClient defers both until libcurl has returned
// (settle()), so observers may start, cancel and destroy Transfers, including other ones,
// from on_response() and on_body(). Two exceptions: never destroy the Transfer whose callback
// is running, and never call resume() from inside a callback.
//   - on_done() runs after libcurl returned: the Transfer may be destroyed there.
//   - After cancel() or destruction no callback runs again.
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
#include "core/util/result.h"

namespace ssestitch::net {

// Process-wide set-up that must run before threads start: curl_global_init and SIGPIPE ignored.
void init_process();

struct TlsOptions {
  std::string cacert;     // CA bundle file ("" = system default)
  std::string capath;     // CA directory
  bool insecure = false;  // skip peer and host verification
};

struct UpstreamRequest {
  std::string method = "GET";
  std::string url;                   // absolute http(s) URL
  Headers headers;                   // sent as given (the caller filters hop-by-hop headers)
  std::string body;
  std::int64_t connect_timeout_ms = 10'000;
  std::int64_t total_timeout_ms = 0; // 0: none (streams)
};

class UpstreamClient;

class Transfer {
 public:
  enum class BodyAction { consume, pause };

  class Observer {
   public:
    // The final (non-1xx) response's status and headers.
    virtual void on_response(int status, const Headers& headers) = 0;
    // A piece of the body. `pause`: libcurl keeps the bytes and offers them again after resume().
    virtual BodyAction on_body(std::string_view bytes) = 0;
    // The transfer ended: ok after a complete response, else an error: upstream_refused
    // (connection refused: nothing was sent), upstream_unreachable (DNS/TLS), timeout, upstream_protocol (reset mid-body and other I/O errors).
    virtual void on_done(const util::Result<void>& result) = 0;

   protected:
    ~Observer() = default;
  };

  // Starts the request at once. Errors: invalid_argument (bad URL), internal.
  static util::Result<std::unique_ptr<Transfer>> start(UpstreamClient& client, UpstreamRequest request,
                                                       Observer* observer);
  ~Transfer();  // = cancel()
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // Stops the transfer; no callback runs afterwards. Safe inside this transfer's callbacks.
  void cancel();
  // Lets a paused transfer continue. Not from inside this transfer's callbacks.
  void resume();
  // Hands the callbacks to another observer (e.g. from inside on_response, when an exchange
  // hands an SSE response over to a stream).
  void set_observer(Observer* observer) noexcept {
    if (!m_cancelled) m_observer = observer;
  }
  bool paused() const noexcept { return m_paused; }
  bool finished() const noexcept { return m_finished; }
  bool cancelled() const noexcept { return m_cancelled; }
  int status() const noexcept { return m_status; }
  const Headers& response_headers() const noexcept { return m_response_headers; }
  std::string_view url() const noexcept { return m_request.url; }

 private:
  friend class UpstreamClient;
  Transfer(UpstreamClient& client, UpstreamRequest request, Observer* observer);
  static size_t on_header_line(char* data, size_t size, size_t n, void* arg) noexcept;
  static size_t on_write(char* data, size_t size, size_t n, void* arg) noexcept;
  void detach();

  UpstreamClient& m_client;
  UpstreamRequest m_request;
  Observer* m_observer;
  CurlEasy m_easy;
  CurlSlist m_header_list;
  std::uint64_t m_serial = 0;
  int m_status = 0;
  bool m_headers_done = false;
  bool m_paused = false;
  bool m_finished = false;
  bool m_cancelled = false;
  Headers m_response_headers;
  char m_error[256] = {};
};

class UpstreamClient {
 public:
  static util::Result<std::unique_ptr<UpstreamClient>> create(EventLoop& loop, TlsOptions tls);
  // All Transfers must be destroyed first.
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  EventLoop& loop() noexcept { return m_loop; }
  std::size_t active() const noexcept { return m_transfers.size(); }

 private:
  friend class Transfer;
  struct SocketWatch;
  UpstreamClient(EventLoop& loop, TlsOptions tls);
  static int on_socket(void* easy, int fd, int what, void* clientp, void* socketp) noexcept;
  static int on_timer(void* multi, long timeout_ms, void* clientp) noexcept;
  static void on_socket_event(int fd, short what, void* arg) noexcept;
  void on_timeout();
  void drain_completed();
  // Marks a transfer that left m_transfers finished and tells its observer (unless cancelled).
  void finish(Transfer& transfer, const util::Result<void>& result);
  util::Result<void> add(Transfer& transfer);
  // Takes the handle out of the multi (later, from inside a callback: see settle()).
  void remove(Transfer& transfer) noexcept;
  // Frees a removed handle and its header list, at once or once it is out of the multi.
  void release(CurlEasy easy, CurlSlist header_list) noexcept;
  // Carries out the adds and removes deferred while inside libcurl callbacks.
  void settle();

  EventLoop& m_loop;
  TlsOptions m_tls;
  CurlMulti m_multi;
  std::unique_ptr<Timer> m_timer;
  std::uint64_t m_next_serial = 1;
  std::unordered_map<void*, Transfer*> m_transfers;  // CURL* -> live transfer
  struct Unlinking {
    void* easy;                 // CURL*, muted, still in the multi
    CurlEasy owned;             // its Transfer is gone: freed here once removed
    CurlSlist header_list;      // freed with it
  };
  int m_callback_depth = 0;           // observers running inside libcurl callbacks
  std::vector<Unlinking> m_unlinking;  // removes deferred by remove()
  std::vector<void*> m_pending_adds;   // CURL* added inside a callback, not yet in the multi
};

}  // namespace ssestitch::net
