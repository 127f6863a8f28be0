#pragma once
// Http1Transfer: a Transfer on our own HTTP/1.1 client, for http:// URLs with a numeric host
// (UpstreamClient picks it; upstream_client.h has the rules every engine keeps).
//
// The problem: every upstream stream was a libcurl transfer. On each read libcurl polled the
// socket once more and updated its multi bookkeeping (strace: a poll() per read; perf at 100
// paced streams: libcurl.so 36 % of the samples in the proxy's libraries, libc aside), and
// each transfer held an easy handle and a 64 KiB download buffer: 10,000 idle streams cost
// 273 MB (28.3 KB each).
//
// The approach: one non-blocking socket, one http_parser (Debian's libhttp-parser 2.9: status
// line, headers, chunked and length-delimited and close-delimited bodies) and one libevent
// read event per transfer. Reads go into a buffer the UpstreamClient shares among all
// transfers; on_body() gets the body slices in place. Only a pause copies: the slice the
// observer refused and the unparsed rest of the read are kept and offered again by resume().
// The request (status line, Host, the caller's headers, Content-Length, body) is one send(),
// made in start() itself on a connected socket (a pooled one), else once the connect completes;
// what the socket does not take waits for a write event. Until 2026-12-07 a pooled socket, too,
// waited for its write event, behind the rest of that loop turn (the turn's store batch among
// it): time to first event through one proxy (30 streams opened one after another, 4
// interleaved blocks each) p50 2.50-4.79 -> 1.83-2.27 ms. After a complete response that allows
// it, the connection goes to the UpstreamClient's Http1Pool for the next request to the same
// origin; a request sent on a pooled connection that closes before any response byte is sent
// again once on a new connection (libcurl does the same), which covers a server closing an
// idle connection just as it was reused. A transfer its observer stops from inside on_body
// (cancel_keeping_connection: an MCP POST's stream is complete once its answer came) parses the
// rest of the bytes of that read without callbacks and keeps the connection when the response
// ends there, as it does behind the official SDK's server (the last chunk comes with the
// answer): 30 tool calls through the proxy opened 34 upstream connections before, 3 after;
// `bench --upstream` through the proxy, 200 pings (SSE answers), p50 1.08-1.61 -> 1.05-1.17 ms
// (3 interleaved runs each).
//
// Measured against libcurl, one interleaved peer-bench run (2 rounds, store on, 2 cores): CPU
// per event 3.78 -> 3.35 us (one write per event), 33.8 -> 30.2 (paced), 37.6 -> 32.4 (100
// paced streams); bulk 0.12x -> 0.19x of direct; upstream cut every 1,000 events 0.17x ->
// 0.21x. `bench --scenarios idle`: 28.3 -> 13.0 KB of proxy RSS per idle stream.
//
// Rejected: libevent's evhttp client (a request object with its own buffers per transfer, and
// it reads a whole chunk before handing it over); bufferevents (a second copy of every byte
// through an evbuffer, for nothing a single read buffer does not do); parsing HTTP by hand.
// Not here: https and host names (libcurl keeps them: TLS, HTTP/2, DNS), proxies from the
// environment (http_proxy), Expect: 100-continue.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <http_parser.h>

#include "core/net/event_loop.h"
#include "core/net/upstream_client.h"
#include "core/util/unique_fd.h"

namespace ssestitch::net {

class Http1Transfer final : public Transfer {
 public:
  static constexpr std::size_t k_read_buffer_bytes = 64u << 10;

  // Starts `request` when this engine serves its URL (http:// with a numeric IPv4 or [IPv6]
  // host), taking it; otherwise returns nullptr and leaves `request` as it was (the URL is
  // parsed once, for both the choice and the start). Errors found here (no socket, connection
  // refused at once) are reported from the loop, like every other.
  static util::Result<std::unique_ptr<Transfer>> start(UpstreamClient& client, UpstreamRequest& request,
                                                       Observer* observer);
  ~Http1Transfer() override;
  void cancel() override;
  void cancel_keeping_connection() override;
  void resume() override;

 private:
  enum class Fed { more, stop };
  Http1Transfer(UpstreamClient& client, UpstreamRequest request, Observer* observer);
  // Opens a socket to m_address and starts the connect (or takes a pooled connection).
  util::Result<void> connect(bool may_reuse);
  util::Result<void> watch();
  void on_connected();
  // Sends what is left of m_out; false once the transfer ended (then `this` may be gone). From
  // start() nothing may call back: a send error is left to the write event, which meets it
  // again from the loop.
  bool send_pending(bool from_start = false);
  void on_readable();
  // Parses `bytes`; `stop` once the transfer ended or paused (then `this` may be gone).
  Fed feed(const char* data, std::size_t len);
  void on_eof();
  // A connection that fails before any response byte: a pooled one is replaced once.
  bool retry_fresh();
  void close_connection(bool reusable);
  // Closes the connection (to the pool when `reusable`) and, the first time, marks the transfer
  // finished; false when it already was.
  bool end(bool reusable);
  // End the transfer and call on_done() last: `this` may be gone when they return.
  void complete(bool reusable);
  void fail(util::Errc code, std::string_view what);
  void arm_timeouts();

  static void on_read_event(int fd, short what, void* arg) noexcept;
  static void on_write_event(int fd, short what, void* arg) noexcept;
  static int on_header_field(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_header_value(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_headers_complete(http_parser* p) noexcept;
  static int on_body_data(http_parser* p, const char* at, std::size_t len) noexcept;
  static int on_message_complete(http_parser* p) noexcept;
  static const http_parser_settings k_settings;

  UpstreamClient& m_client;
  std::string m_origin;           // "host:port", the pool's key
  std::string m_address;          // sockaddr_in or sockaddr_in6 bytes
  util::UniqueFd m_fd;
  EventPtr m_read;
  EventPtr m_write;
  std::unique_ptr<Timer> m_timer;  // connect and total timeouts, and errors found in start()
  std::int64_t m_connect_deadline_ns = 0;  // 0: connected
  std::int64_t m_total_deadline_ns = 0;    // 0: none
  util::Error m_start_error;               // reported by the timer (no callback in start())
  http_parser m_parser{};
  std::string m_out;              // the request; kept until sent and answered (retry)
  std::size_t m_out_sent = 0;
  std::string m_field;            // header being read
  std::string m_value;
  bool m_in_value = false;
  std::string m_held;             // body the observer paused on, offered again first
  std::string m_unparsed;         // bytes read after it, parsed on resume
  bool m_reused = false;          // the connection came from the pool
  bool m_got_bytes = false;       // a response byte arrived on this connection
  bool m_sent_all = false;        // the whole request was sent
  bool m_interim = false;         // parsing a 1xx response
  bool m_head = false;            // HEAD: no body follows the headers
  bool m_complete = false;        // the final response ended
  bool m_callback_failed = false; // an observer callback threw
  bool m_in_feed = false;         // http_parser_execute is running
  bool m_draining = false;        // cancelled in feed(): parses what it holds, then ends
};

}  // namespace ssestitch::net
