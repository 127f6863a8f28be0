// One contract for both engines behind net::Transfer (our HTTP/1.1 client and libcurl), against
// a scripted HTTP server on 127.0.0.1 (real sockets, its own thread): framing, errors, pause,
// cancel, 1xx, timeouts and connection reuse must look the same through either engine.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/net/event_loop.h"
#include "core/net/http1_transfer.h"
#include "core/net/upstream_client.h"
#include "core/util/unique_fd.h"
#include "tests/unit/loop_support.h"

namespace ssestitch::test {
namespace {

using net::Transfer;

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A scripted HTTP/1.1 server: one connection at a time; each request (head and a
// Content-Length body) is handed to `answer`, which writes the response on the socket and says
// whether the connection stays open for another request.
class ScriptServer {
 public:
  using Answer = std::function<bool(const std::string& request, int fd)>;

  explicit ScriptServer(Answer answer) : m_answer(std::move(answer)) {
    m_listen.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(m_listen);
    const int one = 1;
    ::setsockopt(m_listen.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_listen.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(m_listen.get(), 16) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(m_listen.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    m_port = ntohs(sa.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~ScriptServer() {
    m_stop = true;
    m_thread.join();
  }

  std::string url(std::string_view target) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + std::string(target);
  }
  int connections() const { return m_connections.load(); }
  std::vector<std::string> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  void serve() {
    while (!m_stop) {
      pollfd p{m_listen.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      util::UniqueFd conn(::accept4(m_listen.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn) continue;
      ++m_connections;
      timeval tv{0, 200'000};
      ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string in;
      bool open = true;
      while (open && !m_stop) {
        std::optional<std::string> request = read_request(conn.get(), in);
        if (!request) {
          if (m_eof) break;
          continue;  // receive timeout: look at m_stop, wait again
        }
        {
          std::lock_guard lock(m_mutex);
          m_requests.push_back(*request);
        }
        open = m_answer(*request, conn.get());
      }
    }
  }

  // One complete request from `fd` (what was read beyond it stays in `in`), or nullopt after
  // a receive timeout (m_eof false) or the end of the connection (m_eof true).
  std::optional<std::string> read_request(int fd, std::string& in) {
    m_eof = false;
    for (;;) {
      const auto head_end = in.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t body = 0;
        if (const auto cl = in.find("Content-Length: "); cl != std::string::npos && cl < head_end) {
          body = std::stoul(in.substr(cl + 16));
        }
        if (in.size() >= head_end + 4 + body) {
          std::string request = in.substr(0, head_end + 4 + body);
          in.erase(0, request.size());
          return request;
        }
      }
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        m_eof = true;
        return std::nullopt;
      }
      if (n < 0) return std::nullopt;
      in.append(buf, static_cast<std::size_t>(n));
    }
  }

  Answer m_answer;
  util::UniqueFd m_listen;
  std::uint16_t m_port = 0;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_connections{0};
  bool m_eof = false;
  mutable std::mutex m_mutex;
  std::vector<std::string> m_requests;
  std::thread m_thread;
};

// Records what a transfer tells its observer; can pause, cancel or throw on the first body.
struct Recorder final : Transfer::Observer {
  enum class OnBody { consume, pause_first, cancel, cancel_keeping, throw_first };
  OnBody mode = OnBody::consume;
  Transfer* transfer = nullptr;
  int responses = 0;
  int status = 0;
  net::Headers headers;
  std::string body;
  int bodies = 0;
  int backlogged = 0;  // on_body calls inside which the transfer said backlogged()
  std::optional<util::Result<void>> done;
  int dones = 0;

  void on_response(int s, const net::Headers& h) override {
    ++responses;
    status = s;
    headers = h;
  }
  Transfer::BodyAction on_body(std::string_view bytes) override {
    ++bodies;
    if (transfer != nullptr && transfer->backlogged()) ++backlogged;
    if (mode == OnBody::pause_first && bodies == 1) return Transfer::BodyAction::pause;
    if (mode == OnBody::cancel || mode == OnBody::cancel_keeping) {
      if (mode == OnBody::cancel) {
        transfer->cancel();
      } else {
        transfer->cancel_keeping_connection();
      }
      return Transfer::BodyAction::consume;
    }
    if (mode == OnBody::throw_first) throw std::runtime_error("observer failed");
    body.append(bytes);
    return Transfer::BodyAction::consume;
  }
  void on_done(const util::Result<void>& result) override {
    ++dones;
    done = result;
  }
};

// A loop and a client of one engine.
struct Engine {
  explicit Engine(bool use_curl) : curl(use_curl) {
    auto l = net::EventLoop::create();
    REQUIRE(l);
    loop = std::move(*l);
    auto c = net::UpstreamClient::create(*loop, {}, use_curl ? net::HttpEngine::curl : net::HttpEngine::own);
    REQUIRE(c);
    client = std::move(*c);
  }

  std::unique_ptr<Transfer> start(net::UpstreamRequest request, Recorder& rec) {
    auto t = Transfer::start(*client, std::move(request), &rec);
    REQUIRE(t);
    CHECK((dynamic_cast<net::Http1Transfer*>(t->get()) == nullptr) == curl);
    rec.transfer = t->get();
    return std::move(*t);
  }

  bool run_until(const std::function<bool()>& done) { return test::run_until(*loop, done); }
  // Starts `request` and runs the loop until the transfer is done.
  std::unique_ptr<Transfer> fetch(net::UpstreamRequest request, Recorder& rec) {
    auto t = start(std::move(request), rec);
    REQUIRE(run_until([&] { return rec.done.has_value(); }));
    return t;
  }
  // Runs the loop for `ms` whatever happens.
  void run_for(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    run_until([&] { return std::chrono::steady_clock::now() >= until; });
  }

  bool curl;
  std::unique_ptr<net::EventLoop> loop;
  std::unique_ptr<net::UpstreamClient> client;
};

net::UpstreamRequest get(std::string url) {
  net::UpstreamRequest r;
  r.url = std::move(url);
  return r;
}

const char* k_sse_head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

std::string chunk(std::string_view data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size).append(data).append("\r\n");
}

}  // namespace

static void transfer_contract(bool curl) {
  {
    Engine e(curl);

    SUBCASE("a chunked body in pieces, the request as sent, headers as received") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n"));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        send_all(fd, chunk("data: two\n\n") + chunk("data: three\n\n") + "0\r\n\r\n");
        return true;
      });
      Recorder rec;
      net::UpstreamRequest r = get(server.url("/stream?x=1&y=2"));
      r.headers.add("Last-Event-ID", "41");
      auto t = e.fetch(std::move(r), rec);
      CHECK(*rec.done);
      CHECK(rec.status == 200);
      CHECK(rec.responses == 1);
      CHECK(rec.headers.get("content-type") == std::optional<std::string_view>("text/event-stream"));
      CHECK(rec.body == "data: one\n\ndata: two\n\ndata: three\n\n");
      CHECK(t->finished());
      const auto requests = server.requests();
      REQUIRE(requests.size() == 1);
      CHECK(requests[0].starts_with("GET /stream?x=1&y=2 HTTP/1.1\r\n"));
      CHECK(requests[0].find("\r\nHost: 127.0.0.1:") != std::string::npos);
      CHECK(requests[0].find("\r\nLast-Event-ID: 41\r\n") != std::string::npos);
    }

    SUBCASE("a POST body arrives whole; a Content-Length answer; a 1xx before it is skipped") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
        return true;
      });
      Recorder rec;
      net::UpstreamRequest r = get(server.url("/mcp"));
      r.method = "POST";
      r.body = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";
      r.headers.add("Content-Type", "application/json");
      auto t = e.fetch(std::move(r), rec);
      CHECK(*rec.done);
      CHECK(rec.status == 202);
      CHECK(rec.responses == 1);
      CHECK(rec.headers.get("X-A") == std::optional<std::string_view>("b"));
      CHECK(rec.body == "hello");
      const auto requests = server.requests();
      REQUIRE(requests.size() == 1);
      CHECK(requests[0].starts_with("POST /mcp HTTP/1.1\r\n"));
      CHECK(requests[0].find("\r\nContent-Length: 40\r\n") != std::string::npos);
      CHECK(requests[0].ends_with("\r\n\r\n" R"({"jsonrpc":"2.0","id":1,"method":"ping"})"));
    }

    SUBCASE("a body delimited by the end of the connection") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end");
        return false;
      });
      Recorder rec;
      auto t = e.fetch(get(server.url("/")), rec);
      CHECK(*rec.done);
      CHECK(rec.body == "until the end");
    }

    SUBCASE("a connection cut mid-body is an upstream_protocol error, after the bytes before it") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n"));
        return false;
      });
      Recorder rec;
      auto t = e.fetch(get(server.url("/")), rec);
      REQUIRE(!*rec.done);
      CHECK(rec.done->error().code == util::Errc::upstream_protocol);
      CHECK(rec.body == "data: one\n\n");
    }

    SUBCASE("a malformed response is an upstream_protocol error") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n");
        return false;
      });
      Recorder rec;
      auto t = e.fetch(get(server.url("/")), rec);
      REQUIRE(!*rec.done);
      CHECK(rec.done->error().code == util::Errc::upstream_protocol);
    }

    SUBCASE("nothing listening: upstream_refused, reported from the loop, never inside start()") {
      std::string url;
      {
        ScriptServer gone([](const std::string&, int) { return false; });
        url = gone.url("/");
      }
      Recorder rec;
      auto t = e.start(get(url), rec);
      CHECK(!rec.done.has_value());
      REQUIRE(e.run_until([&] { return rec.done.has_value(); }));
      REQUIRE(!*rec.done);
      CHECK(rec.done->error().code == util::Errc::upstream_refused);
      CHECK(rec.responses == 0);
    }

    SUBCASE("pause keeps the bytes; resume offers them again, in order, once") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n") + chunk("data: two\n\n"));
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        send_all(fd, chunk("data: three\n\n") + "0\r\n\r\n");
        return true;
      });
      Recorder rec;
      rec.mode = Recorder::OnBody::pause_first;
      auto t = e.start(get(server.url("/")), rec);
      REQUIRE(e.run_until([&] { return t->paused(); }));
      e.run_for(60);  // everything has arrived by now; nothing is offered while paused
      CHECK(rec.bodies == 1);
      CHECK(rec.body.empty());
      CHECK(!rec.done.has_value());
      t->resume();
      REQUIRE(e.run_until([&] { return rec.done.has_value(); }));
      CHECK(*rec.done);
      CHECK(rec.body == "data: one\n\ndata: two\n\ndata: three\n\n");
    }

    SUBCASE("cancel inside on_body: no callback afterwards") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n") + chunk("data: two\n\n") + "0\r\n\r\n");
        return true;
      });
      for (const auto mode : {Recorder::OnBody::cancel, Recorder::OnBody::cancel_keeping}) {
        CAPTURE(static_cast<int>(mode));
        Recorder rec;
        rec.mode = mode;
        auto t = e.start(get(server.url("/")), rec);
        REQUIRE(e.run_until([&] { return t->cancelled(); }));
        e.run_for(50);
        CHECK(rec.bodies == 1);
        CHECK(rec.dones == 0);
      }
    }

    SUBCASE("an observer that throws ends the transfer as failed") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n") + "0\r\n\r\n");
        return true;
      });
      Recorder rec;
      rec.mode = Recorder::OnBody::throw_first;
      auto t = e.fetch(get(server.url("/")), rec);
      CHECK(!*rec.done);
      CHECK(rec.dones == 1);
    }

    SUBCASE("a total timeout ends a response that never completes") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n"));
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        return false;
      });
      Recorder rec;
      net::UpstreamRequest r = get(server.url("/"));
      r.total_timeout_ms = 100;
      auto t = e.fetch(std::move(r), rec);
      REQUIRE(!*rec.done);
      CHECK(rec.done->error().code == util::Errc::timeout);
    }

    SUBCASE("HEAD: headers only, even with a Content-Length") {
      ScriptServer server([](const std::string&, int fd) {
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
        return true;
      });
      Recorder rec;
      net::UpstreamRequest r = get(server.url("/"));
      r.method = "HEAD";
      auto t = e.fetch(std::move(r), rec);
      CHECK(*rec.done);
      CHECK(rec.status == 200);
      CHECK(rec.body.empty());
    }

    SUBCASE("keep-alive: the next request reuses the connection; one the server closed is replaced") {
      std::atomic<int> answered{0};
      ScriptServer server([&](const std::string&, int fd) {
        send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        // The third answer closes the connection, as a server ending an idle one would.
        return ++answered != 3;
      });
      for (int i = 0; i < 5; ++i) {
        CAPTURE(i);
        Recorder rec;
        auto t = e.fetch(get(server.url("/")), rec);
        CHECK(*rec.done);
        CHECK(rec.body == "ok");
        if (i == 2) e.run_for(30);  // the close reaches the client's idle socket
      }
      CHECK(server.requests().size() == 5);
      CHECK(server.connections() == 2);
    }
  }
}

TEST_CASE("net::Transfer contract: our HTTP/1.1 client") { transfer_contract(false); }
TEST_CASE("net::Transfer contract: libcurl") { transfer_contract(true); }

TEST_CASE("net::Http1Transfer: on a pooled connection the request leaves in start(), before the loop runs") {
  Engine e(false);
  ScriptServer server([](const std::string&, int fd) {
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    return true;
  });
  Recorder first;
  auto t1 = e.fetch(get(server.url("/one")), first);
  Recorder second;
  auto t2 = e.start(get(server.url("/two")), second);
  // The loop is not running: only start() itself can have sent the request (a generous
  // "never hangs" bound, not a timing).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server.requests().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(server.requests().size() == 2);
  REQUIRE(e.run_until([&] { return second.done.has_value(); }));
  CHECK(*second.done);
  CHECK(second.body == "ok");
  CHECK(server.connections() == 1);
}

TEST_CASE("net::Http1Transfer: backlogged() while a read filled the buffer, not for a short response") {
  Engine e(false);
  const std::string big(4u << 20, 'x');  // far more than one read's buffer, sent before the loop runs
  ScriptServer server([&](const std::string& request, int fd) {
    if (request.rfind("GET /big ", 0) == 0) {
      send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
    } else {
      send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n") + "0\r\n\r\n");
    }
    return true;
  });
  Recorder small;
  e.fetch(get(server.url("/small")), small);
  CHECK(*small.done);
  CHECK(small.bodies >= 1);
  CHECK(small.backlogged == 0);
  Recorder large;
  auto t = e.start(get(server.url("/big")), large);  // pooled: the request leaves here
  // Let the server fill the socket buffers before the first read.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server.requests().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(e.run_until([&] { return large.done.has_value(); }));
  CHECK(*large.done);
  CHECK(large.body.size() == big.size());
  CHECK(large.backlogged > 0);
}

TEST_CASE("net::Transfer: libcurl's transfers never say backlogged()") {
  Engine e(true);
  const std::string big(1u << 20, 'x');
  ScriptServer server([&](const std::string&, int fd) {
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big);
    return true;
  });
  Recorder rec;
  e.fetch(get(server.url("/big")), rec);
  CHECK(*rec.done);
  CHECK(rec.body.size() == big.size());
  CHECK(rec.backlogged == 0);
}

TEST_CASE("net::Http1Transfer: cancelled inside on_body, the connection is kept when the response ends in that read") {
  Engine e(false);
  ScriptServer server([](const std::string& request, int fd) {
    if (request.rfind("GET /later ", 0) == 0) {  // the last chunk comes after a pause
      send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n"));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      send_all(fd, "0\r\n\r\n");
      return true;
    }
    send_all(fd, std::string(k_sse_head) + chunk("data: one\n\n") + chunk("data: two\n\n") + "0\r\n\r\n");
    return true;
  });
  auto cancelled_at_first_slice = [&](const std::string& target) {
    Recorder rec;
    rec.mode = Recorder::OnBody::cancel_keeping;
    auto t = e.start(get(server.url(target)), rec);
    REQUIRE(e.run_until([&] { return t->cancelled(); }));
    e.run_for(80);
    CHECK(rec.bodies == 1);
    CHECK(rec.dones == 0);
  };
  auto fetched = [&] {
    Recorder rec;
    auto t = e.fetch(get(server.url("/next")), rec);
    CHECK(*rec.done);
    CHECK(rec.body == "data: one\n\ndata: two\n\n");
  };
  cancelled_at_first_slice("/same");  // the end of the response came in the same read
  fetched();
  CHECK(server.connections() == 1);
  cancelled_at_first_slice("/later");  // on the kept connection; its end had not come yet
  fetched();
  CHECK(server.connections() == 2);
  CHECK(server.requests().size() == 4);
}

}  // namespace ssestitch::test
