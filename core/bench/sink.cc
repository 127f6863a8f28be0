#include "core/bench/sink.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "core/bench/loopback.h"
#include "core/bench/wire.h"
#include "core/util/clock.h"
#include "core/util/unique_fd.h"

namespace ssestitch::bench {
namespace {

using util::UniqueFd;

constexpr std::size_t k_max_threads = 256;         // streams past this share threads (idle runs)
constexpr std::int64_t k_wake_ms = 200;            // a blocked thread looks at the clock this often
constexpr std::uint64_t k_max_reconnects = 100000; // per run

std::int64_t now_ns() noexcept { return util::system_clock().mono_ns(); }

// The number after `"key":` in a generator payload (0 when absent). memmem, as sse-sink.
std::int64_t field(std::string_view data, std::string_view key) {
  const void* at = ::memmem(data.data(), data.size(), key.data(), key.size());
  if (at == nullptr) return 0;
  std::int64_t v = 0;
  std::from_chars(static_cast<const char*>(at) + key.size(), data.data() + data.size(), v);
  return v;
}

// The generator's events, parsed line by line as peer-bench's sse-sink parses them, so that the
// direct bulk baseline costs the sink the same per byte in both tools (framed into blocks first
// and parsed after, this sink read 30-40% faster than sse-sink, and direct bulk figures
// disagreed). Not a general SSE parser: `k` and `t` are read from a single data line. LF or
// CRLF line ends.
class EventLines {
 public:
  static constexpr std::size_t k_max_line = 1u << 20;

  struct Event {
    bool has_id = false;
    std::string id;
    bool has_data = false;
    std::int64_t k = 0;
    std::int64_t t = 0;
  };

  // Calls on_event(const Event&) at every blank line and counts comment lines; false when a
  // line grows past k_max_line.
  template <class OnEvent>
  bool feed(std::string_view bytes, std::uint64_t& comments, OnEvent&& on_event) {
    while (!bytes.empty()) {
      const std::size_t nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        m_carry.append(bytes);
        return m_carry.size() <= k_max_line;
      }
      if (m_carry.empty()) {
        line(bytes.substr(0, nl), comments, on_event);
      } else {
        m_carry.append(bytes.substr(0, nl));
        line(m_carry, comments, on_event);
        m_carry.clear();
      }
      bytes.remove_prefix(nl + 1);
    }
    return true;
  }

 private:
  template <class OnEvent>
  void line(std::string_view l, std::uint64_t& comments, OnEvent& on_event) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.empty()) {
      on_event(std::as_const(m_event));
      m_event.has_id = m_event.has_data = false;
      return;
    }
    if (l.front() == ':') {
      ++comments;
      return;
    }
    const std::size_t colon = l.find(':');
    const std::string_view name = l.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "id") {
      m_event.has_id = true;
      m_event.id.assign(value);
    } else if (name == "data") {
      m_event.has_data = true;
      m_event.k = field(value, "\"k\":");
      m_event.t = field(value, "\"t\":");
    }
  }

  std::string m_carry;
  Event m_event;
};

// The body of a response: chunked, Content-Length or close-delimited.
class BodyDecoder {
 public:
  enum class Framing { chunked, length, close };

  void reset(Framing framing, std::uint64_t length) {
    m_framing = framing;
    m_state = framing == Framing::chunked ? State::size_line : framing == Framing::length ? State::length : State::rest;
    m_left = length;
    m_line.clear();
    m_done = framing == Framing::length && length == 0;
  }
  bool done() const noexcept { return m_done; }
  bool ends_at_close() const noexcept { return m_framing == Framing::close; }

  // Passes the body bytes in `bytes` to on_body; false on a malformed chunk-size line.
  template <class OnBody>
  bool feed(std::string_view bytes, OnBody&& on_body) {
    while (!bytes.empty() && !m_done) {
      switch (m_state) {
        case State::size_line: {
          const char c = bytes.front();
          bytes.remove_prefix(1);
          if (c != '\n') {
            if (m_line.size() > 64) return false;
            m_line += c;
            break;
          }
          m_left = 0;
          const auto [end, ec] = std::from_chars(m_line.data(), m_line.data() + m_line.size(), m_left, 16);
          if (ec != std::errc() || end == m_line.data()) return false;
          m_line.clear();
          if (m_left == 0) {
            m_done = true;  // trailers are not read: the response is over for the sink
          } else {
            m_state = State::data;
          }
          break;
        }
        case State::data:
        case State::length: {
          const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), m_left));
          on_body(bytes.substr(0, take));
          bytes.remove_prefix(take);
          m_left -= take;
          if (m_left == 0) {
            m_done = m_state == State::length;
            m_state = State::data_end;
          }
          break;
        }
        case State::data_end:
          if (bytes.front() == '\n') m_state = State::size_line;
          bytes.remove_prefix(1);
          break;
        case State::rest:
          on_body(bytes);
          bytes = {};
          break;
      }
    }
    return true;
  }

 private:
  enum class State { size_line, data, data_end, length, rest };
  Framing m_framing = Framing::close;
  State m_state = State::rest;
  std::uint64_t m_left = 0;
  std::string m_line;
  bool m_done = false;
};

// What every thread of a run shares.
struct Shared {
  const SinkOptions* options = nullptr;
  std::size_t streams = 0;
  std::atomic<std::size_t> settled{0};  // streams with a response or a failure
  std::atomic<std::int64_t> stop_at_ns{0};  // the deadline, or the end of the hold
  std::atomic<std::uint64_t> reconnects{0};
};

// One stream: its connection, parse state and checks. Driven by one thread.
class Reader {
 public:
  Reader(Shared& shared, SinkResult& result, const StreamSpec& spec, std::size_t index)
      : m_shared(shared), m_result(result), m_spec(spec), m_index(index), m_next_k(spec.first_k), m_last_id(spec.last_event_id) {}

  bool open() const noexcept { return m_fd.get() >= 0; }
  bool finished() const noexcept { return m_finished; }
  int fd() const noexcept { return m_fd.get(); }
  std::size_t index() const noexcept { return m_index; }
  const std::string& last_id() const noexcept { return m_last_id; }

  // Connects and sends the request; a failure ends the stream or, with reconnect, waits a little
  // and leaves it to the caller to try again.
  void connect() {
    const std::string_view url = m_spec.url;
    constexpr std::string_view prefix = "http://127.0.0.1:";
    std::uint16_t port = 0;
    const char* end = nullptr;
    if (url.starts_with(prefix)) end = std::from_chars(url.data() + prefix.size(), url.data() + url.size(), port).ptr;
    if (end == nullptr || port == 0 || end == url.data() + url.size() || *end != '/') {
      return fail("not an http://127.0.0.1:PORT/ URL: " + m_spec.url);
    }
    if (m_connect_ns == 0) m_connect_ns = now_ns();
    UniqueFd fd(connect_loopback(port));
    if (!fd) {
      const std::string why = "connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
      if (!m_spec.reconnect || !count_reconnect()) return fail(why);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // do not spin on a refused connect
      return;
    }
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const timeval wake{0, k_wake_ms * 1000};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof wake);
    std::string request = "GET " + std::string(end, url.data() + url.size()) + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                          std::to_string(port) + "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n";
    if (!m_last_id.empty()) request += "Last-Event-ID: " + m_last_id + "\r\n";
    request += "\r\n";
    if (!send_all(fd.get(), request)) return fail(std::string("send: ") + std::strerror(errno));
    m_fd = std::move(fd);
    m_in.clear();
    m_have_head = false;
    m_lines = EventLines();
  }

  // After a recv() on fd(): n bytes in buf, 0 at the end of the connection, -1 on an error
  // (errno set; EAGAIN is only a wake-up).
  void received(const char* buf, ssize_t n) {
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) return ended(n == 0 && m_have_head && m_body.ends_at_close(), n < 0 ? std::strerror(errno) : "");
    std::string_view bytes(buf, static_cast<std::size_t>(n));
    if (!m_have_head) {
      m_in.append(bytes);
      std::string head;
      if (const HeadCut cut = cut_head(m_in, head); cut != HeadCut::done) {
        if (cut == HeadCut::too_large) fail("response head over 16 KiB");
        return;
      }
      if (!response_head(head)) return;
      bytes = m_in;
    }
    const bool ok = m_body.feed(bytes, [this](std::string_view body) { events(body); });
    m_in.clear();
    if (m_finished || !open()) return;
    if (!ok) return fail("malformed chunked body");
    if (m_body.done()) ended(true, "");
  }

  // The run is over with this stream still open.
  void abandon() {
    m_fd.reset();
    if (!m_shared.options->hold) fail("deadline reached");
  }

 private:
  bool response_head(std::string_view head_bytes) {
    Head head;
    if (!parse_head(head_bytes, head)) {
      fail("malformed response head");
      return false;
    }
    if (head.part2 != "200") {
      fail("HTTP status " + std::string(head.part2));
      return false;
    }
    m_have_head = true;
    const auto te = head.headers.get("Transfer-Encoding");
    const auto length = head.headers.get("Content-Length");
    std::uint64_t n = 0;
    if (length) std::from_chars(length->data(), length->data() + length->size(), n);
    m_body.reset(te && te->find("chunked") != std::string_view::npos ? BodyDecoder::Framing::chunked
                 : length                                             ? BodyDecoder::Framing::length
                                                                      : BodyDecoder::Framing::close,
                 n);
    settle();
    return true;
  }

  // The stream has its first response, or has failed before it: the hold starts once every
  // stream is settled (a failed one fails the run, but need not wait for the deadline).
  void settle() {
    if (m_settled) return;
    m_settled = true;
    if (m_shared.settled.fetch_add(1) + 1 == m_shared.streams && m_shared.options->hold) {
      if (m_shared.options->on_all_connected) m_shared.options->on_all_connected();
      const std::int64_t hold_end = now_ns() + m_shared.options->hold_ms * 1'000'000;
      if (hold_end < m_shared.stop_at_ns.load()) m_shared.stop_at_ns.store(hold_end);
    }
  }

  void events(std::string_view body) {
    SinkResult& r = m_result;
    r.bytes += body.size();
    const bool fed = m_lines.feed(body, r.comments, [&](const EventLines::Event& ev) {
      if (m_finished) return;  // the rest of this read is not ours (last_id stays at the last event taken)
      if (ev.has_id) m_last_id = ev.id;
      if (!ev.has_data) return;
      const std::int64_t now = now_ns();
      if (r.first_event_ns == 0) r.first_event_ns = now;
      r.last_event_ns = now;
      const auto k = static_cast<std::uint64_t>(ev.k);
      if (k == m_next_k) {
        ++m_next_k;
      } else if (k > m_next_k) {
        r.lost += k - m_next_k;
        m_next_k = k + 1;
      } else {
        ++r.duplicated;
        return;
      }
      if (m_events++ == 0) r.first_event_after_ns.push_back(now - m_connect_ns);
      ++r.events;
      r.latency_ns.push_back(now - ev.t);
      if (m_spec.expect != 0 && m_events >= m_spec.expect) done();
    });
    if (!fed) fail("a line longer than 1 MiB");
  }

  // The connection ended: `clean` when its response did.
  void ended(bool clean, std::string_view error) {
    m_fd.reset();
    const bool short_read = m_spec.expect != 0 && m_events < m_spec.expect;
    if (clean && !short_read) return done();
    if (m_spec.reconnect && count_reconnect()) return;  // the caller connects again
    fail(!error.empty() ? std::string(error) : "ended after " + std::to_string(m_events) + " events");
  }

  bool count_reconnect() {
    if (m_shared.reconnects.fetch_add(1) >= k_max_reconnects) return false;
    ++m_result.reconnects;
    return true;
  }

  void done() {
    m_fd.reset();
    m_finished = true;
  }

  void fail(std::string why) {
    m_fd.reset();
    if (m_finished) return;
    m_finished = true;
    ++m_result.failed_streams;
    if (m_result.first_error.empty()) m_result.first_error = std::move(why);
    settle();
  }

  Shared& m_shared;
  SinkResult& m_result;  // this thread's share
  const StreamSpec& m_spec;
  std::size_t m_index;
  UniqueFd m_fd;
  std::string m_in;
  bool m_have_head = false;
  bool m_settled = false;
  bool m_finished = false;
  BodyDecoder m_body;
  EventLines m_lines;
  std::uint64_t m_next_k;
  std::uint64_t m_events = 0;
  std::int64_t m_connect_ns = 0;  // the first connect()
  std::string m_last_id;
};

// One thread's streams until each is finished or the run stops. One stream: blocking recv(),
// as peer-bench's sink; several: poll() first.
void drive(std::vector<Reader>& readers, Shared& shared) {
  static thread_local char buf[1u << 16];
  std::vector<pollfd> fds;
  std::vector<Reader*> polled;
  for (;;) {
    if (now_ns() >= shared.stop_at_ns.load(std::memory_order_relaxed)) break;
    polled.clear();
    fds.clear();
    for (Reader& r : readers) {
      if (r.finished()) continue;
      if (!r.open()) r.connect();
      if (r.open()) {
        polled.push_back(&r);
        fds.push_back(pollfd{r.fd(), POLLIN, 0});
      }
    }
    if (polled.empty()) {
      if (std::all_of(readers.begin(), readers.end(), [](const Reader& r) { return r.finished(); })) break;
      continue;  // reconnects pending
    }
    if (polled.size() == 1) {
      polled[0]->received(buf, ::recv(polled[0]->fd(), buf, sizeof buf, 0));
      continue;
    }
    if (::poll(fds.data(), fds.size(), static_cast<int>(k_wake_ms)) <= 0) continue;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) polled[i]->received(buf, ::recv(fds[i].fd, buf, sizeof buf, MSG_DONTWAIT));
    }
  }
  for (Reader& r : readers) {
    if (!r.finished()) r.abandon();
  }
}

void merge(SinkResult& into, SinkResult& part) {
  into.events += part.events;
  into.bytes += part.bytes;
  into.lost += part.lost;
  into.duplicated += part.duplicated;
  into.reconnects += part.reconnects;
  into.failed_streams += part.failed_streams;
  into.comments += part.comments;
  if (part.first_event_ns != 0 && (into.first_event_ns == 0 || part.first_event_ns < into.first_event_ns)) {
    into.first_event_ns = part.first_event_ns;
  }
  into.last_event_ns = std::max(into.last_event_ns, part.last_event_ns);
  into.latency_ns.insert(into.latency_ns.end(), part.latency_ns.begin(), part.latency_ns.end());
  into.first_event_after_ns.insert(into.first_event_after_ns.end(), part.first_event_after_ns.begin(),
                                   part.first_event_after_ns.end());
  if (into.first_error.empty()) into.first_error = std::move(part.first_error);
}

}  // namespace

util::Result<SinkResult> run_sink(const std::vector<StreamSpec>& streams, const SinkOptions& options) {
  Shared shared;
  shared.options = &options;
  shared.streams = streams.size();
  SinkResult result;
  result.start_ns = now_ns();
  shared.stop_at_ns.store(result.start_ns + options.deadline_ms * 1'000'000);
  result.last_ids.resize(streams.size());
  const std::size_t n_threads = std::max<std::size_t>(1, std::min(streams.size(), k_max_threads));
  std::vector<SinkResult> parts(n_threads);
  std::vector<std::vector<Reader>> readers(n_threads);
  for (std::size_t i = 0; i < streams.size(); ++i) readers[i % n_threads].emplace_back(shared, parts[i % n_threads], streams[i], i);
  std::vector<std::thread> threads;
  try {
    for (std::size_t t = 0; t < n_threads; ++t) threads.emplace_back([&, t] { drive(readers[t], shared); });
  } catch (const std::system_error& e) {
    shared.stop_at_ns.store(0);
    for (auto& th : threads) th.join();
    return util::fail(util::Errc::internal, std::string("cannot start a sink thread: ") + e.what());
  }
  for (auto& th : threads) th.join();
  for (std::size_t t = 0; t < n_threads; ++t) {
    merge(result, parts[t]);
    for (const Reader& r : readers[t]) result.last_ids[r.index()] = r.last_id();
  }
  return result;
}

}  // namespace ssestitch::bench
