#include "core/bench/generator.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <thread>

#include "core/net/address.h"
#include "core/net/event_loop.h"
#include "core/net/http_server.h"
#include "core/util/clock.h"

namespace ssestitch::bench {
namespace {

constexpr std::size_t k_bulk_write = 16u << 10;   // bytes per write in bulk mode
constexpr std::size_t k_backlog_cap = 64u << 10;  // stop writing above this, continue on drain

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

}  // namespace

struct Generator::Impl {
  enum class Mode { bulk, write, paced };

  struct Conn final : net::ServerRequest::Observer {
    Impl* gen = nullptr;
    net::ServerRequest* request = nullptr;
    Mode mode = Mode::bulk;
    std::uint64_t next_k = 1, n = 0, drop = 0, sent_here = 0;
    std::size_t size = 256;
    double rate = 0;
    std::int64_t start_ns = 0;
    std::uint64_t start_k = 1;
    std::unique_ptr<net::Timer> timer;
    std::string out;
    bool cut_pending = false;  // drop=K reached: cut once the written events have left

    void on_client_closed() noexcept override {
      request = nullptr;
      gen->release(this);
    }
    void on_drained() noexcept override {
      if (cut_pending) return end(true);
      if (mode != Mode::paced) pump();
    }

    void append(std::uint64_t k) {
      // to_chars, not snprintf: at millions of events/s the formatting is the generator's cost.
      const auto number = [this](auto v) {
        char digits[24];
        out.append(digits, std::to_chars(digits, std::end(digits), v).ptr);
      };
      const std::size_t start = out.size();
      out += "id: ";
      number(k);
      out += "\ndata: {\"k\":";
      number(k);
      out += ",\"t\":";
      number(util::system_clock().mono_ns());
      out += ",\"p\":\"";
      const std::size_t len = out.size() - start;
      const std::size_t used = len - 10 + 3;  // data bytes so far, closing included
      out.append(size > used ? size - used : 1, 'x');
      out += "\"}\n\n";
    }
    bool done() const { return n != 0 && next_k > n; }

    // Writes what is due; ends or cuts the response when the stream says so.
    void pump() {
      if (request == nullptr || cut_pending) return;
      if (mode == Mode::paced) {
        // One write per event, as it falls due (a late timer writes the overdue ones one by one).
        while (request != nullptr && !done() && !cut_due() && due_ns(next_k) <= util::system_clock().mono_ns()) {
          out.clear();
          emit();
          flush_out();
        }
      } else {
        while (request != nullptr && !done() && !cut_due() && request->backlog() < k_backlog_cap) {
          out.clear();
          if (mode == Mode::write) {
            emit();
          } else {
            while (!done() && !cut_due() && out.size() < k_bulk_write) emit();
          }
          flush_out();
          if (mode == Mode::write) return;  // the next event after this one is drained
        }
      }
      if (request == nullptr) return;
      if (cut_due()) {
        // Aborting now would discard what is still queued: cut after exactly K events instead.
        cut_pending = true;
        timer->cancel();
        return;
      }
      if (done()) {
        ++gen->finished;
        return end(false);
      }
      if (mode == Mode::paced) timer->arm_us((due_ns(next_k) - util::system_clock().mono_ns()) / 1000);
    }
    std::int64_t due_ns(std::uint64_t k) const {
      return start_ns + static_cast<std::int64_t>(static_cast<double>(k - start_k) * 1e9 / rate);
    }
    void emit() {
      append(next_k++);
      ++sent_here;
    }
    bool cut_due() const { return drop != 0 && sent_here >= drop; }
    void flush_out() {
      if (out.empty() || request == nullptr) return;
      request->write(out);
    }
    void end(bool cut) {
      net::ServerRequest* r = request;
      request = nullptr;
      timer->cancel();
      r->set_observer(nullptr);
      if (cut) {
        r->abort();
      } else {
        r->finish();
      }
      gen->release(this);
    }
  };

  std::unique_ptr<net::EventLoop> loop;
  std::unique_ptr<net::HttpServer> server;
  std::thread thread;
  std::map<Conn*, std::unique_ptr<Conn>> conns;
  std::atomic<std::uint64_t> events{0};
  std::atomic<std::uint64_t> finished{0};

  void release(Conn* c) {
    events.fetch_add(c->sent_here, std::memory_order_relaxed);  // counted when a response ends
    loop->post([this, c] { conns.erase(c); });
  }

  void handle(net::ServerRequest& request) {
    net::Headers h;
    if (request.method() != "GET") {
      h.set("Content-Type", "text/plain");
      request.reply(405, h, "GET only\n");
      return;
    }
    const std::string_view t = request.target();
    auto c = std::make_unique<Conn>();
    c->gen = this;
    c->request = &request;
    const std::string_view mode = query_str(t, "mode");
    c->mode = mode == "write" ? Mode::write : mode == "paced" ? Mode::paced : Mode::bulk;
    c->n = query_u64(t, "n", 1000);
    c->size = static_cast<std::size_t>(std::min<std::uint64_t>(query_u64(t, "size", 256), 1u << 20));
    c->rate = static_cast<double>(std::max<std::uint64_t>(query_u64(t, "rate", 1000), 1));
    c->drop = query_u64(t, "drop", 0);
    if (auto last = request.headers().get("Last-Event-ID"); last) {
      std::uint64_t k = 0;
      std::from_chars(last->data(), last->data() + last->size(), k);
      c->next_k = k + 1;
    }
    c->start_k = c->next_k;
    c->start_ns = util::system_clock().mono_ns();
    Conn* raw = c.get();
    c->timer = std::make_unique<net::Timer>(*loop, [raw] { raw->pump(); });
    h.set("Content-Type", "text/event-stream");
    h.set("Cache-Control", "no-cache");
    request.set_observer(raw);
    request.start(200, h);
    conns.emplace(raw, std::move(c));
    if (query_u64(t, "idle", 0) != 0) return;  // headers only, then nothing
    raw->pump();
  }
};

Generator::Generator(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

util::Result<std::unique_ptr<Generator>> Generator::start() {
  auto impl = std::make_unique<Impl>();
  auto loop = net::EventLoop::create();
  if (!loop) return std::move(loop).error();
  impl->loop = std::move(*loop);
  net::HttpServer::Limits limits;
  limits.max_connections = 1u << 20;
  limits.max_body_bytes = 4096;
  Impl* raw = impl.get();
  auto server = net::HttpServer::listen(*impl->loop, net::ListenAddress{"127.0.0.1", 0}, limits,
                                        [raw](net::ServerRequest& r) { raw->handle(r); });
  if (!server) return std::move(server).error();
  impl->server = std::move(*server);
  impl->thread = std::thread([raw] { raw->loop->run(); });
  return std::unique_ptr<Generator>(new Generator(std::move(impl)));
}

Generator::~Generator() {
  Impl* raw = m_impl.get();
  raw->loop->post([raw] {
    for (auto& [c, conn] : raw->conns) {
      if (conn->request != nullptr) {
        conn->request->set_observer(nullptr);
        conn->request->abort();
        conn->request = nullptr;
      }
      conn->timer->cancel();
    }
    raw->conns.clear();
    raw->server.reset();
    raw->loop->stop();
  });
  if (raw->thread.joinable()) raw->thread.join();
}

std::uint16_t Generator::port() const noexcept { return m_impl->server->address().port; }
std::uint64_t Generator::events_sent() const noexcept { return m_impl->events.load(std::memory_order_relaxed); }
std::uint64_t Generator::streams_finished() const noexcept { return m_impl->finished.load(std::memory_order_relaxed); }

}  // namespace ssestitch::bench
