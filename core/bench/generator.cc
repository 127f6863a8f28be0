#include "core/bench/generator.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <iterator>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/bench/loopback.h"
#include "core/bench/wire.h"
#include "core/util/clock.h"
#include "core/util/unique_fd.h"

namespace ssestitch::bench {
namespace {

using util::UniqueFd;

constexpr std::size_t k_bulk_send = 16u << 10;  // bulk mode: bytes per send, as peer-bench's WBUF
constexpr std::size_t k_max_body = 64u << 10;   // request body, read and discarded
constexpr std::size_t k_headroom = 16;          // room for a chunk-size line before the events

void sleep_until(std::int64_t due_ns) noexcept {
  const timespec t{static_cast<time_t>(due_ns / 1'000'000'000), static_cast<long>(due_ns % 1'000'000'000)};
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, nullptr) == EINTR) {
  }
}

std::uint64_t query_u64(std::string_view target, std::string_view key, std::uint64_t dflt) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return dflt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.size() > key.size() && pair.starts_with(key) && pair[key.size()] == '=') {
      std::uint64_t v = dflt;
      const std::string_view s = pair.substr(key.size() + 1);
      std::from_chars(s.data(), s.data() + s.size(), v);
      return v;
    }
  }
  return dflt;
}

std::string_view query_str(std::string_view target, std::string_view key) {
  const auto at = target.find(std::string(key) + "=");
  if (at == std::string_view::npos) return {};
  std::string_view v = target.substr(at + key.size() + 1);
  return v.substr(0, v.find('&'));
}

struct Server {
  std::atomic<std::uint64_t>* finished = nullptr;
  pthread_attr_t thread_attr;
};

// One response's events, sent as sse-gen sends them.
class EventStream {
 public:
  enum class Outcome { complete, cut, failed };

  EventStream(int fd, bool chunked, std::string_view target, std::uint64_t first_k) : m_fd(fd), m_chunked(chunked) {
    const std::string_view mode = query_str(target, "mode");
    m_paced = mode == "paced";
    m_send_at = mode == "write" || m_paced ? 0 : k_bulk_send;
    m_n = query_u64(target, "n", 1000);
    m_size = static_cast<std::size_t>(std::min<std::uint64_t>(query_u64(target, "size", 256), 1u << 20));
    m_rate = static_cast<double>(std::max<std::uint64_t>(query_u64(target, "rate", 1000), 1));
    m_drop = query_u64(target, "drop", 0);
    m_first = first_k;
    m_out.reserve(k_headroom + std::max(m_send_at, m_size) + m_size + 512);
    m_out.assign(k_headroom, ' ');
  }

  Outcome run() {
    const std::int64_t t0 = util::system_clock().mono_ns();
    std::uint64_t sent = 0;
    for (std::uint64_t k = m_first; k <= m_n; ++k) {
      if (m_paced) {
        const std::int64_t due = t0 + static_cast<std::int64_t>(static_cast<double>(k - m_first) * 1e9 / m_rate);
        if (due > util::system_clock().mono_ns()) {
          if (!flush(false)) return Outcome::failed;
          sleep_until(due);
        }
      }
      append(k);
      if (m_drop != 0 && ++sent >= m_drop && k < m_n) return flush(false) ? Outcome::cut : Outcome::failed;
      if (m_out.size() - k_headroom >= m_send_at && !flush(false)) return Outcome::failed;
    }
    return flush(true) ? Outcome::complete : Outcome::failed;
  }

 private:
  void append(std::uint64_t k) {
    // to_chars, not snprintf: at millions of events/s the formatting is the generator's cost.
    const auto number = [this](auto v) {
      char digits[24];
      m_out.append(digits, std::to_chars(digits, std::end(digits), v).ptr);
    };
    const std::size_t start = m_out.size();
    m_out += "id: ";
    number(k);
    m_out += "\ndata: {\"k\":";
    number(k);
    m_out += ",\"t\":";
    number(util::system_clock().mono_ns());
    m_out += ",\"p\":\"";
    const std::size_t len = m_out.size() - start;
    const std::size_t used = len - 10 + 3;  // data bytes so far, closing included
    m_out.append(m_size > used ? m_size - used : 1, 'x');
    m_out += "\"}\n\n";
  }

  // Sends what is buffered as one chunk (and the last chunk when `final`).
  bool flush(bool final) {
    std::size_t begin = k_headroom;
    const std::size_t body = m_out.size() - k_headroom;
    if (m_chunked) {
      if (body > 0) {
        char size_line[k_headroom];
        char* end = std::to_chars(size_line, size_line + sizeof size_line - 2, body, 16).ptr;
        *end++ = '\r';
        *end++ = '\n';
        begin -= static_cast<std::size_t>(end - size_line);
        std::memcpy(m_out.data() + begin, size_line, static_cast<std::size_t>(end - size_line));
        m_out += "\r\n";
      }
      if (final) m_out += "0\r\n\r\n";
    }
    const bool ok = m_out.size() == begin || send_all(m_fd, std::string_view(m_out).substr(begin));
    m_out.resize(k_headroom);
    return ok;
  }

  int m_fd;
  bool m_chunked;
  bool m_paced = false;
  std::size_t m_send_at = 0;
  std::uint64_t m_n = 0, m_first = 1, m_drop = 0;
  std::size_t m_size = 256;
  double m_rate = 1000;
  std::string m_out;
};

bool discard_body(int fd, std::string& in, std::uint64_t length) {
  if (length > k_max_body) return false;
  while (in.size() < length) {
    if (!recv_into(fd, in)) return false;
  }
  in.erase(0, length);
  return true;
}

std::string response_head(bool http10, bool close_after) {
  return std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n") +
         (http10 ? "" : "Transfer-Encoding: chunked\r\n") + (close_after ? "Connection: close\r\n" : "") + "\r\n";
}

bool wants_close(const Head& head) {
  return head.part3 == "HTTP/1.0" || net::iequals(head.headers.get("Connection").value_or(""), "close");
}

// A connection from its first request on, in a thread of its own: answers that request and the
// later ones on the connection, blocking in recv() and send() as sse-gen does.
void serve_requests(Server& server, UniqueFd fd, std::string in, std::string head_bytes) {
  // A kept-alive connection nobody uses, or a reader that stopped reading, ends after this.
  const timeval limit{120, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  Head head;
  do {
    if (!parse_head(head_bytes, head)) return;
    const std::string target(head.part2);
    const bool http10 = head.part3 == "HTTP/1.0";
    const bool close_after = wants_close(head);
    std::uint64_t body = 0;
    const std::string_view length = head.headers.get("Content-Length").value_or("");
    std::from_chars(length.data(), length.data() + length.size(), body);
    if (head.headers.has("Transfer-Encoding") || !discard_body(fd.get(), in, body)) return;
    if (head.part1 != "GET") {
      static constexpr std::string_view k_405 =
          "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nGET only\n";
      if (!send_all(fd.get(), k_405) || close_after) return;
      continue;
    }
    std::uint64_t first_k = 1;
    if (const auto last = head.headers.get("Last-Event-ID"); last) {
      std::uint64_t k = 0;
      std::from_chars(last->data(), last->data() + last->size(), k);
      first_k = k + 1;
    }
    if (!send_all(fd.get(), response_head(http10, close_after))) return;
    EventStream stream(fd.get(), !http10, target, first_k);
    const EventStream::Outcome outcome = stream.run();
    if (outcome == EventStream::Outcome::complete) server.finished->fetch_add(1, std::memory_order_relaxed);
    if (outcome != EventStream::Outcome::complete || close_after) return;
  } while (read_head(fd.get(), in, head_bytes));
}

struct ConnectionStart {
  Server* server;
  int fd;
  std::string in;
  std::string head;
};

extern "C" void* connection_thread(void* arg) noexcept {
  std::unique_ptr<ConnectionStart> start(static_cast<ConnectionStart*>(arg));
  try {
    serve_requests(*start->server, UniqueFd(start->fd), std::move(start->in), std::move(start->head));
  } catch (...) {  // allocation failure: this connection ends, the others go on
  }
  return nullptr;
}

// Connections until their first request is read, on one epoll thread: it accepts them, reads
// that request, answers idle=1 itself and keeps those connections until the peer goes; any
// other request gets a thread (serve_requests). With a thread per accepted connection instead,
// 10,000 idle streams through a proxy overflowed the accept queue (dropped SYNs, 502s).
class Front {
 public:
  Front(Server& server, int listen_fd) : m_server(server), m_listen(listen_fd), m_epoll(::epoll_create1(EPOLL_CLOEXEC)) {}

  [[noreturn]] void run() {
    ::fcntl(m_listen, F_SETFL, ::fcntl(m_listen, F_GETFL) | O_NONBLOCK);
    watch(m_listen);
    epoll_event events[256];
    for (;;) {
      const int n = ::epoll_wait(m_epoll.get(), events, 256, -1);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == m_listen) {
          accept_all();
        } else {
          readable(events[i].data.fd);
        }
      }
    }
  }

 private:
  struct Conn {
    std::string in;
    bool idle = false;  // answered idle=1: waits for the peer to go
  };

  void watch(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev);
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS) ::usleep(1000);
        return;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      m_conns[fd];
      watch(fd);
    }
  }

  void readable(int fd) {
    const auto it = m_conns.find(fd);
    if (it == m_conns.end()) return;
    Conn& c = it->second;
    if (c.idle) return drop(fd);  // the peer went (or sent what an idle stream does not expect)
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return drop(fd);
    c.in.append(buf, static_cast<std::size_t>(n));
    std::string head_bytes;
    if (const HeadCut cut = cut_head(c.in, head_bytes); cut != HeadCut::done) {
      if (cut == HeadCut::too_large) drop(fd);
      return;
    }
    Head head;
    if (parse_head(head_bytes, head) && head.part1 == "GET" && query_u64(head.part2, "idle", 0) != 0 &&
        !head.headers.has("Content-Length") && !head.headers.has("Transfer-Encoding")) {
      c.idle = true;
      if (!send_all(fd, response_head(head.part3 == "HTTP/1.0", wants_close(head)))) drop(fd);
      return;
    }
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    auto* start = new ConnectionStart{&m_server, fd, std::move(c.in), std::move(head_bytes)};
    m_conns.erase(it);
    pthread_t t;
    if (::pthread_create(&t, &m_server.thread_attr, connection_thread, start) != 0) {
      ::close(fd);
      delete start;
    }
  }

  void drop(int fd) {
    ::epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    m_conns.erase(fd);
  }

  Server& m_server;
  int m_listen;
  UniqueFd m_epoll;
  std::unordered_map<int, Conn> m_conns;
};

// The child's whole life: accept and serve until killed.
[[noreturn]] void serve(int listen_fd, std::atomic<std::uint64_t>* finished) {
  Server server;
  server.finished = finished;
  ::pthread_attr_init(&server.thread_attr);
  ::pthread_attr_setdetachstate(&server.thread_attr, PTHREAD_CREATE_DETACHED);
  ::pthread_attr_setstacksize(&server.thread_attr, 256u << 10);
  Front(server, listen_fd).run();
}

}  // namespace

util::Result<std::unique_ptr<Generator>> Generator::start() {
  void* page = ::mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return util::fail(util::Errc::internal, std::string("mmap: ") + std::strerror(errno));
  auto* shared = new (page) Shared;
  auto listener = bind_loopback(4096);
  if (!listener) {
    ::munmap(page, sizeof(Shared));
    return std::move(listener).error();
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Stop with the bench even when it is killed outright (a test's timeout, kill -9).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    serve(listener->fd, &shared->finished);
  }
  const int err = errno;
  ::close(listener->fd);
  if (pid < 0) {
    ::munmap(page, sizeof(Shared));
    return util::fail(util::Errc::internal, std::string("fork: ") + std::strerror(err));
  }
  return std::unique_ptr<Generator>(new Generator(pid, listener->port, shared));
}

Generator::~Generator() {
  ::kill(m_pid, SIGKILL);
  ::waitpid(m_pid, nullptr, 0);
  m_shared->~Shared();
  ::munmap(m_shared, sizeof(Shared));
}

std::uint64_t Generator::streams_finished() const noexcept { return m_shared->finished.load(std::memory_order_relaxed); }

}  // namespace ssestitch::bench
