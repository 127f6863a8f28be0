// ssestitch-testkit relay: a fault-injecting TCP relay between a client and a target, for
// cutting or stalling streams at byte positions that know nothing of HTTP or SSE framing.
//
// One thread per accepted connection pipes both directions with poll() through two bounded
// buffers (64 KiB each way), so a connection holds at most 128 KiB whatever the peers do.
// Faults count raw bytes from the target to the client on that connection:
//   --cut-every B   exactly B bytes reach the client, then both sides are closed (close: FIN
//                   after the data; rst: SO_LINGER {1,0}, which also discards unsent data);
//   --stall-after B after B bytes nothing more is read from the target; both stay open;
//   --hold-ms MS    target bytes are held and passed on in bursts every MS ms (a buffering
//                   middlebox, for bench's buffering check).
// SIGUSR1 cuts every open connection at once. Threads, rather than the event loop, keep the
// relay independent of the net layer the tests exercise through it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <list>
#include <memory>
#include <string>
#include <thread>

#include "core/net/address.h"
#include "core/util/units.h"
#include "tests/tools/testkit.h"
#include "tests/tools/tool_util.h"

namespace ssestitch::testkit::relay {
namespace {

constexpr const char* k_usage =
    R"(usage: ssestitch-testkit relay --listen 127.0.0.1:P --to 127.0.0.1:Q [--cut-every BYTES]
         [--cut-mode close|rst] [--max-cuts N] [--stall-after BYTES] [--hold-ms MS] [--lifetime S]
Pipes each accepted connection to the target. P 0 picks a free port; the line
"relay: listening on 127.0.0.1:P -> ... pid N" on stderr names it. BYTES: 100000, 64KiB, 1M.
  --cut-every B    after exactly B target->client bytes on a connection, close both sides
                   (close: FIN after the data; rst: RST); at most --max-cuts cuts in all (0: no limit)
  --stall-after B  stop forwarding target->client after B bytes; both sides stay open
  --hold-ms MS     pass target->client bytes on in bursts every MS ms (a buffering proxy)
SIGUSR1 cuts all open connections. Prints one JSON line of totals on exit (lifetime, SIGTERM,
SIGINT: exit 0): connections, bytes_up, bytes_down, cuts, stalls, connect_failures.
)";

constexpr std::size_t k_buffer_bytes = 64u << 10;
constexpr std::size_t k_max_connections = 1024;
constexpr int k_poll_ms = 50;

struct Config {
  sockaddr_storage target{};
  socklen_t target_len = 0;
  std::uint64_t cut_every = 0;
  bool rst = false;
  std::uint64_t max_cuts = 0;
  std::uint64_t stall_after = 0;
  std::int64_t hold_ms = 0;  // a buffering middlebox: target->client bytes leave in bursts
};

struct Totals {
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> bytes_up{0};    // client -> target
  std::atomic<std::uint64_t> bytes_down{0};  // target -> client
  std::atomic<std::uint64_t> cuts{0};
  std::atomic<std::uint64_t> stalls{0};
  std::atomic<std::uint64_t> connect_failures{0};
};

struct Shared {
  Config config;
  Totals totals;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> cut_all{0};  // bumped by SIGUSR1
};

// One owner per fd (STYLE habit 11).
class Fd {
 public:
  explicit Fd(int fd = -1) noexcept : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : m_fd(o.m_fd) { o.m_fd = -1; }
  Fd& operator=(Fd&&) = delete;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return m_fd; }
  void reset() noexcept {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

 private:
  int m_fd;
};

bool to_sockaddr(const net::ListenAddress& a, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(a.port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(a.port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

// A non-blocking connection to the target, or -1 within 5 s.
int connect_target(const Config& c) {
  const int fd = ::socket(c.target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&c.target), c.target_len) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  pollfd p{fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (::poll(&p, 1, 5000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// One direction's bytes in flight.
struct Pipe {
  char buf[k_buffer_bytes];
  std::size_t off = 0, len = 0;
  bool eof = false;       // the source sent FIN
  bool shut = false;      // we passed the FIN on
  bool empty() const noexcept { return off == len; }
};

// Counts one more --cut-every cut unless --max-cuts is spent (then the connection passes through).
bool reserve_cut(Shared& shared) {
  std::uint64_t n = shared.totals.cuts.load();
  do {
    if (shared.config.max_cuts != 0 && n >= shared.config.max_cuts) return false;
  } while (!shared.totals.cuts.compare_exchange_weak(n, n + 1));
  return true;
}

// Pipes one client connection until either side ends, a fault fires, or the relay stops.
void serve(Shared& shared, int client_raw) {
  Fd client(client_raw);
  const Config& cfg = shared.config;
  Totals& totals = shared.totals;
  Fd target(connect_target(cfg));
  if (target.get() < 0) {
    ++totals.connect_failures;
    return;
  }
  auto up = std::make_unique<Pipe>();    // client -> target
  auto down = std::make_unique<Pipe>();  // target -> client
  std::uint64_t down_read = 0;           // bytes read from the target on this connection
  bool cutting = cfg.cut_every > 0;
  bool stalled = false;
  const std::uint64_t cut_generation = shared.cut_all.load();
  std::string held;  // --hold-ms: target bytes not yet passed on
  auto last_flush = std::chrono::steady_clock::now();

  auto cut = [&]() {
    if (cfg.rst) {
      const linger l{1, 0};
      setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
      setsockopt(target.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
    } else {
      // Unread client input would turn close() into a RST that may discard the data we just
      // sent; read it away first.
      char sink[4096];
      while (::recv(client.get(), sink, sizeof sink, MSG_DONTWAIT) > 0) {
      }
    }
  };

  while (!shared.stop.load(std::memory_order_relaxed)) {
    if (shared.cut_all.load(std::memory_order_relaxed) != cut_generation) {
      ++totals.cuts;
      cut();
      return;
    }
    if (cfg.hold_ms > 0) {
      // Before poll(): an idle connection must still release what it holds on time.
      const auto now = std::chrono::steady_clock::now();
      if (!held.empty() && now - last_flush >= std::chrono::milliseconds(cfg.hold_ms)) {
        std::size_t off = 0;
        while (off < held.size()) {
          const ssize_t n = ::send(client.get(), held.data() + off, held.size() - off, MSG_NOSIGNAL);
          if (n <= 0) return;
          off += static_cast<std::size_t>(n);
        }
        totals.bytes_down += held.size();
        held.clear();
      }
      if (held.empty()) last_flush = now;
    }
    // The read allowance from the target: exactly up to the cut or stall position.
    std::uint64_t allowance = k_buffer_bytes;
    if (cutting) allowance = std::min<std::uint64_t>(allowance, cfg.cut_every - down_read);
    if (cfg.stall_after > 0) {
      allowance = std::min<std::uint64_t>(allowance, cfg.stall_after > down_read ? cfg.stall_after - down_read : 0);
      if (allowance == 0 && !stalled) {
        stalled = true;
        ++totals.stalls;
      }
    }
    if (cutting && down_read >= cfg.cut_every && down->empty()) {
      if (reserve_cut(shared)) {
        cut();
        return;
      }
      cutting = false;  // the cut budget is spent: pass through from here on
      continue;
    }

    pollfd p[2] = {{client.get(), 0, 0}, {target.get(), 0, 0}};
    if (up->empty() && !up->eof) p[0].events |= POLLIN;
    if (!down->empty()) p[0].events |= POLLOUT;
    if (down->empty() && !down->eof && allowance > 0) p[1].events |= POLLIN;
    if (!up->empty()) p[1].events |= POLLOUT;
    const int ready = ::poll(p, 2, k_poll_ms);
    if (ready < 0 && errno != EINTR) return;
    if (ready <= 0) continue;
    if ((p[0].revents & (POLLERR | POLLNVAL)) || (p[1].revents & (POLLERR | POLLNVAL))) return;

    if (p[0].revents & (POLLIN | POLLHUP)) {
      if (up->empty() && !up->eof) {
        const ssize_t n = ::recv(client.get(), up->buf, k_buffer_bytes, MSG_DONTWAIT);
        if (n > 0) {
          up->off = 0;
          up->len = static_cast<std::size_t>(n);
        } else if (n == 0) {
          up->eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          return;
        }
      }
    }
    if (p[1].revents & (POLLIN | POLLHUP)) {
      if (down->empty() && !down->eof && allowance > 0) {
        const ssize_t n = ::recv(target.get(), down->buf, static_cast<std::size_t>(allowance), MSG_DONTWAIT);
        if (n > 0) {
          down->off = 0;
          down->len = static_cast<std::size_t>(n);
          down_read += static_cast<std::uint64_t>(n);
        } else if (n == 0) {
          down->eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
          return;
        }
      }
    }
    if (cfg.hold_ms > 0 && !down->empty()) {
      held.append(down->buf + down->off, down->len - down->off);
      down->off = down->len = 0;
    }
    if (!down->empty()) {
      const ssize_t n = ::send(client.get(), down->buf + down->off, down->len - down->off, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        down->off += static_cast<std::size_t>(n);
        totals.bytes_down += static_cast<std::uint64_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return;
      }
    }
    if (!up->empty()) {
      const ssize_t n = ::send(target.get(), up->buf + up->off, up->len - up->off, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        up->off += static_cast<std::size_t>(n);
        totals.bytes_up += static_cast<std::uint64_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return;
      }
    }
    // Pass each FIN on once its direction is flushed; done when both are.
    if (up->eof && up->empty() && !up->shut) {
      ::shutdown(target.get(), SHUT_WR);
      up->shut = true;
    }
    if (down->eof && down->empty() && held.empty() && !down->shut) {
      ::shutdown(client.get(), SHUT_WR);
      down->shut = true;
    }
    if (up->shut && down->shut) return;
    // The client left a stalled stream: nothing will ever flow again.
    if (up->shut && stalled) return;
    // The client left while the target still talks (an SSE stream): nobody will read it.
    if (up->shut && (p[0].revents & POLLHUP)) return;
  }
}

struct Worker {
  std::thread thread;
  std::atomic<bool> done{false};
};

int relay_main(const std::vector<std::string>& argv) {
  Args args(argv);
  const std::string unknown = unknown_option(
      argv, {"--listen", "--to", "--cut-every", "--cut-mode", "--max-cuts", "--stall-after", "--hold-ms", "--lifetime"}, {});
  if (!unknown.empty() || args.get("--listen").empty() || args.get("--to").empty()) {
    if (!unknown.empty() && unknown != "--help") std::fprintf(stderr, "relay: error: unknown option %s\n", unknown.c_str());
    std::fputs(k_usage, stderr);
    return 2;
  }
  auto listen_addr = net::parse_listen_address(args.get("--listen"));
  auto to_addr = net::parse_listen_address(args.get("--to"));
  if (!listen_addr || !listen_addr->is_loopback() || !to_addr || !to_addr->is_loopback() || to_addr->port == 0) {
    std::fprintf(stderr, "relay: error: --listen and --to need loopback HOST:PORT addresses\n%s", k_usage);
    return 2;
  }
  auto shared = std::make_unique<Shared>();
  Config& cfg = shared->config;
  const std::string mode = args.get("--cut-mode", "close");
  if (mode != "close" && mode != "rst") {
    std::fprintf(stderr, "relay: error: --cut-mode must be close or rst\n");
    return 2;
  }
  // Byte counts take util::parse_size units ("100000", "64KiB", "1M").
  for (auto [name, out] : {std::pair{"--cut-every", &cfg.cut_every}, std::pair{"--stall-after", &cfg.stall_after}}) {
    const std::string v = args.get(name);
    if (v.empty()) continue;
    auto size = util::parse_size(v);
    if (!size) {
      std::fprintf(stderr, "relay: error: %s: %s\n", name, size.error().message.c_str());
      return 2;
    }
    *out = *size;
  }
  const auto max_cuts = parse_ll(args.get("--max-cuts", "0"));
  if (!max_cuts || *max_cuts < 0) {
    std::fprintf(stderr, "relay: error: --max-cuts wants a count\n");
    return 2;
  }
  cfg.max_cuts = static_cast<std::uint64_t>(*max_cuts);
  const auto hold_ms = parse_ll(args.get("--hold-ms", "0"));
  if (!hold_ms || *hold_ms < 0) {
    std::fprintf(stderr, "relay: error: --hold-ms wants milliseconds\n");
    return 2;
  }
  cfg.hold_ms = *hold_ms;
  cfg.rst = mode == "rst";
  if (!to_sockaddr(*to_addr, cfg.target, cfg.target_len)) {
    std::fprintf(stderr, "relay: error: bad --to address\n");
    return 2;
  }
  sockaddr_storage la{};
  socklen_t la_len = 0;
  if (!to_sockaddr(*listen_addr, la, la_len)) {
    std::fprintf(stderr, "relay: error: bad --listen address\n");
    return 2;
  }
  const long long lifetime = std::max<long long>(1, args.get_int("--lifetime", 300));

  // Signals arrive through a signalfd in the accept loop; every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  Fd sigfd(signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));

  Fd listener(::socket(la.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (listener.get() < 0 || sigfd.get() < 0 || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&la), la_len) != 0 ||
      ::listen(listener.get(), 128) != 0) {
    std::fprintf(stderr, "relay: error: cannot listen on %s: %s\n", listen_addr->to_string().c_str(),
                 std::strerror(errno));
    return 1;
  }
  net::ListenAddress bound = *listen_addr;
  sockaddr_storage got{};
  socklen_t got_len = sizeof got;
  if (getsockname(listener.get(), reinterpret_cast<sockaddr*>(&got), &got_len) == 0) {
    bound.port = ntohs(got.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&got)->sin_port
                                                : reinterpret_cast<sockaddr_in6*>(&got)->sin6_port);
  }
  // Scripts that pass port 0 read the real port from this line, and the pid to signal (under
  // `timeout`, $! is timeout's pid, and timeout does not pass SIGUSR1 on).
  std::fprintf(stderr, "relay: listening on %s -> %s pid %d\n", bound.to_string().c_str(),
               to_addr->to_string().c_str(), static_cast<int>(getpid()));

  std::list<Worker> workers;
  const std::int64_t deadline = mono_ns() + lifetime * 1'000'000'000LL;
  while (mono_ns() < deadline) {
    pollfd p[2] = {{listener.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    const int ready = ::poll(p, 2, 100);
    for (auto it = workers.begin(); it != workers.end();) {
      if (it->done.load()) {
        it->thread.join();
        it = workers.erase(it);
      } else {
        ++it;
      }
    }
    if (ready <= 0) continue;
    if (p[1].revents & POLLIN) {
      signalfd_siginfo si{};
      bool quit = false;
      while (::read(sigfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGUSR1) {
          ++shared->cut_all;
        } else {
          quit = true;
        }
      }
      if (quit) break;
    }
    if (p[0].revents & POLLIN) {
      const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (workers.size() >= k_max_connections) {
        ::close(fd);
        continue;
      }
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++shared->totals.connections;
      Worker& w = workers.emplace_back();
      w.thread = std::thread([&shared = *shared, &w, fd] {
        serve(shared, fd);
        w.done.store(true);
      });
    }
  }
  shared->stop.store(true);
  for (Worker& w : workers) w.thread.join();
  const Totals& t = shared->totals;
  std::printf(
      "{\"connections\":%llu,\"bytes_up\":%llu,\"bytes_down\":%llu,\"cuts\":%llu,\"stalls\":%llu,"
      "\"connect_failures\":%llu}\n",
      static_cast<unsigned long long>(t.connections.load()), static_cast<unsigned long long>(t.bytes_up.load()),
      static_cast<unsigned long long>(t.bytes_down.load()), static_cast<unsigned long long>(t.cuts.load()),
      static_cast<unsigned long long>(t.stalls.load()), static_cast<unsigned long long>(t.connect_failures.load()));
  std::fflush(stdout);
  return 0;
}

const Register k_register{"relay", "fault-injecting TCP relay (cut / stall at byte positions)", &relay_main};

}  // namespace
}  // namespace ssestitch::testkit::relay
