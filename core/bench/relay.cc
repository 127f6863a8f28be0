#include "core/bench/relay.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/bench/loopback.h"

namespace ssestitch::bench {
struct CuttingRelay::Impl {
  int listen_fd = -1;
  std::uint16_t port = 0;
  std::uint16_t target = 0;
  std::uint64_t cut_every = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> cuts{0};
  std::thread acceptor;
  std::mutex m;
  std::vector<std::thread> workers;
  std::vector<int> fds;  // every socket of every connection, shut down at stop

  // Copies one direction. The request direction (`is_request`) counts what it relays in
  // `requests`; the answer direction, with `limit` > 0, closes both sockets `limit` bytes after
  // an SSE response header, counting afresh after each new request (HTTP/1.1: the answer to it
  // is a new response, which may be JSON).
  void pump(int from, int to, bool is_request, std::uint64_t limit, std::atomic<std::uint64_t>& requests) {
    char buf[16384];
    std::uint64_t moved = 0;
    bool counting = false;
    std::uint64_t counted_for = 0;  // `requests` when this response began
    std::string tail;  // the last bytes seen, to find the header across reads
    for (;;) {
      pollfd p{from, POLLIN, 0};
      if (::poll(&p, 1, 200) == 0) {
        if (stopping) break;
        continue;
      }
      std::size_t want = sizeof buf;
      if (counting && limit > 0) want = static_cast<std::size_t>(std::min<std::uint64_t>(want, limit - moved));
      const ssize_t n = ::recv(from, buf, want, 0);
      if (n <= 0) break;
      if (is_request) ++requests;  // before the bytes go on: their answer finds it counted
      if (::send(to, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) break;
      if (is_request || limit == 0) continue;
      if (const std::uint64_t r = requests.load(); r != counted_for) {  // a new response
        counted_for = r;
        counting = false;
        moved = 0;
        tail.clear();
      }
      if (!counting) {
        tail.append(buf, static_cast<std::size_t>(n));
        for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        counting = tail.find("text/event-stream") != std::string::npos;
        if (tail.size() > 64) tail.erase(0, tail.size() - 64);
        continue;
      }
      moved += static_cast<std::uint64_t>(n);
      if (limit > 0 && moved >= limit) {
        ++cuts;
        break;
      }
    }
    ::shutdown(from, SHUT_RDWR);
    ::shutdown(to, SHUT_RDWR);
  }

  void accept_loop() {
    while (!stopping) {
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      const int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      const int upstream = connect_loopback(target);
      if (upstream < 0) {
        ::close(client);
        continue;
      }
      std::lock_guard lk(m);
      fds.push_back(client);
      fds.push_back(upstream);
      auto requests = std::make_shared<std::atomic<std::uint64_t>>(0);
      workers.emplace_back([this, client, upstream, requests] { pump(client, upstream, true, 0, *requests); });
      workers.emplace_back([this, client, upstream, requests] { pump(upstream, client, false, cut_every, *requests); });
    }
  }
};

util::Result<std::unique_ptr<CuttingRelay>> CuttingRelay::start(std::uint16_t target_port, std::uint64_t cut_every) {
  auto impl = std::make_unique<Impl>();
  impl->target = target_port;
  impl->cut_every = cut_every;
  auto bound = bind_loopback(64);
  if (!bound) return std::move(bound).error();
  impl->listen_fd = bound->fd;
  impl->port = bound->port;
  Impl* raw = impl.get();
  impl->acceptor = std::thread([raw] { raw->accept_loop(); });
  return std::unique_ptr<CuttingRelay>(new CuttingRelay(std::move(impl)));
}

CuttingRelay::CuttingRelay(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

CuttingRelay::~CuttingRelay() {
  m_impl->stopping = true;
  if (m_impl->acceptor.joinable()) m_impl->acceptor.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lk(m_impl->m);
    for (int fd : m_impl->fds) ::shutdown(fd, SHUT_RDWR);
    workers.swap(m_impl->workers);
  }
  for (auto& t : workers) t.join();
  for (int fd : m_impl->fds) ::close(fd);
  ::close(m_impl->listen_fd);
}

std::uint16_t CuttingRelay::port() const noexcept { return m_impl->port; }
std::uint64_t CuttingRelay::cuts() const noexcept { return m_impl->cuts.load(); }

}  // namespace ssestitch::bench
