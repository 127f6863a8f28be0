// The fault endpoints of the test upstream: streams that misbehave on purpose, so that proxy
// tests can check limits, timeouts and partial writes. Each is paced by a timer or by the
// client's reading, never by an unbounded buffer.

#include <algorithm>

#include "tests/tools/tool_util.h"
#include "tests/tools/upstream.h"

namespace ssestitch::testkit::upstream {
namespace {

// GET /endless: `data:` lines forever, never a blank line; 64 KiB per 10 ms at most.
class EndlessStream final : public Stream {
 public:
  using Stream::Stream;
  void begin() {
    start_sse();
    pump();
  }

 private:
  void pump() override {
    if (!live()) return;
    if (backlog() < k_backlog_limit) {
      std::string line = "data: ";
      append_pad(line, 1024 - 7);
      line += '\n';
      std::string out;
      out.reserve(64 * line.size());
      for (int i = 0; i < 64; ++i) out += line;
      write(out);
    }
    m_timer.arm_ms(10);
  }
  bool pump_on_drain() const noexcept override { return false; }
};

// GET /big?size=B: event 1 with a B-byte payload (written in 64 KiB pieces as the client
// reads), then a small event 2, then the end.
class BigStream final : public Stream {
 public:
  BigStream(Server& server, net::ServerRequest& request, std::size_t size)
      : Stream(server, request), m_size(size) {}
  void begin() {
    start_sse();
    const std::string prefix = "{\"k\":1,\"t\":" + std::to_string(mono_ns()) + ",\"pad\":\"";
    write("id: 1\ndata: " + prefix);
    const std::size_t fixed = prefix.size() + 2;  // the payload besides its pad
    m_pad_left = m_size > fixed ? m_size - fixed : 0;
    pump();
  }

 private:
  void pump() override {
    if (!live()) return;
    while (m_pad_left > 0 && backlog() < k_backlog_limit) {
      const std::size_t n = std::min<std::size_t>(m_pad_left, 64u << 10);
      std::string piece;
      append_pad(piece, n);
      write(piece);
      m_pad_left -= n;
    }
    if (m_pad_left > 0) return;  // continue on drain
    std::string out = "\"}\n\n";
    append_event(out, "2", "", make_payload(2, 64));
    write(out);
    m_server.counters().events_sent += 2;
    finish();
  }

  std::size_t m_size;
  std::size_t m_pad_left = 0;
};

// GET /stall: one event, then silence with the connection open.
class StallStream final : public Stream {
 public:
  using Stream::Stream;
  void begin() {
    start_sse();
    std::string out;
    append_event(out, "1", "", make_payload(1, 64));
    write(out);
    ++m_server.counters().events_sent;
  }

 private:
  void pump() override {}
};

// GET /drip?n=N: N events written one byte per millisecond.
class DripStream final : public Stream {
 public:
  DripStream(Server& server, net::ServerRequest& request, std::int64_t n) : Stream(server, request), m_n(n) {}
  void begin() {
    start_sse();
    pump();
  }

 private:
  void pump() override {
    if (!live()) return;
    if (m_pos >= m_event.size()) {
      if (m_k >= m_n) {
        finish();
        return;
      }
      ++m_k;
      m_event.clear();
      append_event(m_event, std::to_string(m_k), "", make_payload(m_k, 64));
      m_pos = 0;
      ++m_server.counters().events_sent;
    }
    write(std::string_view(m_event).substr(m_pos, 1));
    ++m_pos;
    m_timer.arm_ms(1);
  }
  bool pump_on_drain() const noexcept override { return false; }

  std::int64_t m_n;
  std::int64_t m_k = 0;
  std::string m_event;
  std::size_t m_pos = 0;
};

// GET /framing?n=N: N events that use every legal framing variant: a UTF-8 BOM first, LF,
// CRLF and CR line ends in turn, a comment, `event:`, an unknown field and two `data:` lines per
// event (joined they are the usual JSON payload). Each event is written in two pieces 1 ms
// apart, split at a position that moves, so splits fall inside line ends too.
class FramingStream final : public Stream {
 public:
  FramingStream(Server& server, net::ServerRequest& request, std::int64_t n) : Stream(server, request), m_n(n) {}
  void begin() {
    start_sse();
    write("\xEF\xBB\xBF");
    pump();
  }

 private:
  void pump() override {
    if (!live()) return;
    if (m_rest.empty()) {
      if (m_k >= m_n) {
        finish();
        return;
      }
      ++m_k;
      static constexpr const char* k_ends[3] = {"\n", "\r\n", "\r"};
      const std::string e = k_ends[m_k % 3];
      const std::string event = ": comment " + std::to_string(m_k) + e + "event: tick" + e + "id: " +
                                std::to_string(m_k) + e + "data: {\"k\":" + std::to_string(m_k) + "," + e +
                                "data: \"t\":" + std::to_string(mono_ns()) + "}" + e + "unknown: x" + e + e;
      const std::size_t cut = 1 + static_cast<std::size_t>(m_k * 7) % (event.size() - 1);
      write(std::string_view(event).substr(0, cut));
      m_rest = event.substr(cut);
      ++m_server.counters().events_sent;
    } else {
      write(m_rest);
      m_rest.clear();
    }
    m_timer.arm_ms(1);
  }
  bool pump_on_drain() const noexcept override { return false; }

  std::int64_t m_n;
  std::int64_t m_k = 0;
  std::string m_rest;
};

}  // namespace

void serve_framing(Server& server, net::ServerRequest& request, std::int64_t n) {
  server.adopt<FramingStream>(request, n).begin();
}

void serve_endless(Server& server, net::ServerRequest& request) { server.adopt<EndlessStream>(request).begin(); }

void serve_big(Server& server, net::ServerRequest& request, std::size_t size) {
  server.adopt<BigStream>(request, size).begin();
}

void serve_stall(Server& server, net::ServerRequest& request) { server.adopt<StallStream>(request).begin(); }

void serve_drip(Server& server, net::ServerRequest& request, std::int64_t n) {
  server.adopt<DripStream>(request, n).begin();
}

}  // namespace ssestitch::testkit::upstream
