#include "cmd/replay_serve.h"

#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cmd/exit_code.h"
#include "cmd/replay_format.h"
#include "cmd/store_view.h"
#include "core/net/address.h"
#include "core/net/event_loop.h"
#include "core/net/http_server.h"
#include "core/tracker/downstream_id.h"
#include "core/util/clock.h"
#include "core/util/log.h"

namespace ssestitch::cmd {
namespace {

constexpr std::size_t k_chunk_bytes = 256u << 10;  // one store scan / one write when unpaced
constexpr std::int64_t k_poll_ms = 100;            // a live stream is re-read this often

class Server;

// One client connection streaming one recorded stream.
class ServedClient final : public net::ServerRequest::Observer {
 public:
  ServedClient(Server& server, net::ServerRequest& request, std::uint64_t stream, std::uint64_t after);
  void pump();
  void on_client_closed() noexcept override;
  void on_drained() noexcept override;

 private:
  void end(bool abort);

  Server& m_server;
  net::ServerRequest* m_request;
  std::uint64_t m_stream;
  std::uint64_t m_after;
  std::uint64_t m_sent = 0;       // events on this connection
  bool m_cut_pending = false;     // --drop-every reached: cut once what was written has left
  double m_credit = 0;            // paced: events due and not yet sent
  std::int64_t m_last_tick_ns = 0;
  net::Timer m_timer;
  std::string m_out;
};

class Server {
 public:
  Server(const ReplayOptions& o, const store::SessionStore& s, net::EventLoop& loop) : m_o(o), m_store(s), m_loop(loop) {}

  void handle(net::ServerRequest& request) {
    net::Headers h;
    h.set("Content-Type", "text/plain; charset=utf-8");
    if (request.method() != "GET") return request.reply(405, h, "only GET is served\n");
    std::uint64_t stream = m_o.stream.value_or(0);
    if (const std::string_view p = request.path(); p.starts_with("/streams/")) {
      stream = 0;
      for (char c : p.substr(9)) {
        if (c < '0' || c > '9' || stream > UINT64_MAX / 10 - 1) return request.reply(404, h, "no such stream\n");
        stream = stream * 10 + static_cast<std::uint64_t>(c - '0');
      }
    }
    if (stream == 0) return request.reply(404, h, "GET /streams/N, or start with --stream N\n");
    std::uint64_t after = 0;
    if (auto last = request.headers().get("Last-Event-ID"); last && !last->empty()) {
      auto id = tracker::parse_downstream_id(*last);
      if (!id || id->stream != stream) return request.reply(400, h, "Last-Event-ID is not an id of this stream\n");
      after = id->seq;
    }
    auto checked = check_resume_point(m_store, stream, after);
    if (!checked) {
      const int status = checked.error().code == util::Errc::not_found ? 404 : checked.error().code == util::Errc::bad_event_id ? 410 : 500;
      return request.reply(status, h, checked.error().message + "\n");
    }
    net::Headers sse;
    sse.set("Content-Type", "text/event-stream");
    sse.set("Cache-Control", "no-cache");
    request.start(200, sse);
    auto conn = std::make_unique<ServedClient>(*this, request, stream, after);
    ServedClient* raw = conn.get();
    m_conns.emplace(raw, std::move(conn));
    raw->pump();
  }

  // Deferred: a ServedClient is never destroyed inside its own callback.
  void release(ServedClient* c) {
    m_loop.post([this, c] { m_conns.erase(c); });
  }

  const ReplayOptions& options() const { return m_o; }
  const store::SessionStore& store() const { return m_store; }
  net::EventLoop& loop() { return m_loop; }

 private:
  const ReplayOptions& m_o;
  const store::SessionStore& m_store;
  net::EventLoop& m_loop;
  std::map<ServedClient*, std::unique_ptr<ServedClient>> m_conns;
};

ServedClient::ServedClient(Server& server, net::ServerRequest& request, std::uint64_t stream, std::uint64_t after)
    : m_server(server), m_request(&request), m_stream(stream), m_after(after), m_timer(server.loop(), [this] { pump(); }) {
  request.set_observer(this);
  m_last_tick_ns = util::system_clock().mono_ns();
}

void ServedClient::pump() {
  if (m_request == nullptr || m_cut_pending) return;
  const ReplayOptions& o = m_server.options();
  const double rate = o.rate;
  std::size_t budget = SIZE_MAX;
  if (rate > 0) {
    const std::int64_t now = util::system_clock().mono_ns();
    m_credit = std::min(m_credit + rate * static_cast<double>(now - m_last_tick_ns) / 1e9, std::max(rate / 10, 1.0));
    m_last_tick_ns = now;
    budget = static_cast<std::size_t>(m_credit);
  }
  if (m_request->backlog() >= k_chunk_bytes) return;  // on_drained() continues
  if (o.drop_every > 0) budget = std::min<std::size_t>(budget, o.drop_every - m_sent % o.drop_every);
  auto rec = m_server.store().stream(m_stream);
  const bool ended = rec && (!*rec || (*rec)->state != store::StreamState::open);
  m_out.clear();
  std::size_t n = 0;
  if (budget > 0) {
    auto scanned = m_server.store().scan_events(m_stream, m_after, std::min<std::size_t>(budget, 2000), k_chunk_bytes,
                                                [&](const store::EventView& e) {
                                                  append_replayed(m_out, e, ReplayFormat::sse);
                                                  m_after = e.seq;
                                                  return true;
                                                });
    if (!scanned) {
      util::log(util::LogLevel::error, "replay_failed", {{"stream", m_stream}, {"message", scanned.error().message}});
      return end(true);
    }
    n = *scanned;
  }
  if (n > 0) {
    m_request->write(m_out);
    m_sent += n;
    m_credit -= static_cast<double>(n);
    if (o.drop_every > 0 && m_sent % o.drop_every == 0) {
      // The cut a test asked for, after exactly these events: aborting now would discard
      // what is still queued, so wait for the drain.
      m_cut_pending = true;
      m_timer.cancel();
      return;
    }
  }
  if (rate > 0) {
    m_timer.arm_ms(std::max<std::int64_t>(1, static_cast<std::int64_t>(1000.0 / rate)));
  } else if (n == 0) {
    if (ended) return end(false);
    m_timer.arm_ms(k_poll_ms);  // a stream still being recorded: look again
  }
  // n > 0 unpaced: on_drained() asks for more.
  if (rate > 0 && n == 0 && ended && budget > 0) end(false);
}

void ServedClient::end(bool abort) {
  net::ServerRequest* r = m_request;
  m_request = nullptr;
  m_timer.cancel();
  r->set_observer(nullptr);
  if (abort) {
    r->abort();
  } else {
    r->finish();
  }
  m_server.release(this);
}

void ServedClient::on_client_closed() noexcept {
  m_request = nullptr;
  m_timer.cancel();
  m_server.release(this);
}

void ServedClient::on_drained() noexcept {
  if (m_cut_pending) return end(true);
  if (m_server.options().rate <= 0) pump();
}

}  // namespace

int serve_recorded(const GlobalOptions&, const ReplayOptions& o) {
  auto address = net::parse_listen_address(o.serve);
  if (!address) return report_error(address.error());
  auto opened = open_store_read_only(o.store);
  if (!opened) return report_error(opened.error());
  if (o.stream) {
    if (auto rec = (*opened)->stream(*o.stream); !rec || !*rec) {
      return report_error({util::Errc::not_found, "no stream " + std::to_string(*o.stream) + " in " + o.store});
    }
  }
  auto loop = net::EventLoop::create();
  if (!loop) return report_error(loop.error());
  Server server(o, **opened, **loop);
  net::HttpServer::Limits limits;
  limits.max_body_bytes = 4096;
  auto http = net::HttpServer::listen(**loop, *address, limits, [&server](net::ServerRequest& r) { server.handle(r); });
  if (!http) return report_error(http.error());
  net::SignalWatcher signals(**loop, {SIGINT, SIGTERM}, [&](int) { (*loop)->stop(); });
  std::fprintf(stderr, "replay: listening on %s\n", (*http)->address().to_string().c_str());
  (*loop)->run();
  return k_exit_ok;
}

}  // namespace ssestitch::cmd
