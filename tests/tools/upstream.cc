// ssestitch-testkit upstream: a configurable SSE / MCP Streamable HTTP test server on
// net::HttpServer. The usage text below is the reference for the endpoints and their options.
//
// Generic events carry `{"k":<k>,"t":<CLOCK_MONOTONIC ns at send>,"pad":"x.."}` so that a
// client can check order and completeness and measure latency; `k` starts at 1 and a resume
// with Last-Event-ID continues at k+1. The MCP emulation lives in upstream_mcp.cc.

#include "tests/tools/upstream.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "core/net/upstream_client.h"
#include "core/util/log.h"
#include "core/util/random.h"
#include "tests/tools/testkit.h"
#include "tests/tools/tool_util.h"

namespace ssestitch::testkit::upstream {

namespace {

constexpr const char* k_usage = R"(usage: ssestitch-testkit upstream --listen 127.0.0.1:PORT [--lifetime S]
         [--mcp-resumable 0|1] [--mcp-get 0|1] [--mcp-delete 0|1] [--mcp-unknown-session-400] [--mcp-json]
         [--mcp-hold-resumed] [--get-interval-ms MS] [--listen-drop-every N] [--write-timeout S] [--verbose]
PORT 0 picks a free port; the line "upstream: listening on 127.0.0.1:PORT" on stderr names it.
GET /events   SSE; data {"k":K,"t":MONO_NS,"pad":"x.."}. Query parameters:
  n=N            events, then a clean end (0 = endless)      rate=R  events/s (0 = flat out)
  size=B         payload bytes (64)                          event=TYPE  adds `event:` lines
  ids=numeric    "K" | none | opaque "ev-K-<hex>" | proxy "1-K"
  retry=MS       `retry:` first                              keepalive=MS  `: ka` when idle
  priming=1      `id: <K-1>` + empty data first              skip=K  never send event K
  drop_every=K   cut the connection after K events on it
  resumable=1    Last-Event-ID continues at K+1 | 0 ignore it | 404 refuse | 409 once, then 1
GET /status/<code>, /html, /redirect (302 to /events), /endless (data lines, no blank line),
    /big?size=B, /stall (1 event, then silence), /drip?n=N (1 byte/ms), /framing?n=N (BOM,
    CR/CRLF/LF, split writes), /stats (JSON counters; "connections" = open now)
POST|GET|DELETE /mcp   MCP Streamable HTTP emulation (see upstream_mcp.cc); tools/call "stream"
    {"count":N,"size":B,"drop_every":K,"interval_ms":MS}.
Prints the counters as one JSON line on exit (lifetime, SIGTERM, SIGINT: exit 0).
)";

std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

enum class IdMode { numeric, none, opaque, proxy };

// The id of event k: "k", none, "ev-<k>-<8 hex>" (opaque to a proxy, but k is recoverable), or
// "1-<k>" (the proxy's own id form, to test the client's id check without a proxy).
std::string event_id(IdMode mode, std::int64_t k, std::uint64_t salt) {
  switch (mode) {
    case IdMode::numeric: return std::to_string(k);
    case IdMode::none: return {};
    case IdMode::opaque: {
      char hex[9];
      std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(mix64(static_cast<std::uint64_t>(k) ^ salt)));
      return "ev-" + std::to_string(k) + "-" + hex;
    }
    case IdMode::proxy: return "1-" + std::to_string(k);
  }
  return {};
}

// k from an id produced by event_id(): "k", "ev-<k>-<hex>" or "1-<k>"; nullopt otherwise.
std::optional<std::int64_t> k_of_event_id(std::string_view id) {
  if (auto k = parse_ll(id)) return *k;
  if (id.starts_with("1-")) return parse_ll(id.substr(2));
  if (id.starts_with("ev-")) {
    std::string_view rest = id.substr(3);
    return parse_ll(rest.substr(0, rest.find('-')));
  }
  return std::nullopt;
}

struct EventsParams {
  std::int64_t n = 0;          // 0: endless
  double rate = 0;             // events/s; 0: as fast as the client reads
  std::size_t size = 64;
  IdMode ids = IdMode::numeric;
  std::int64_t retry_ms = -1;  // -1: no retry line
  std::int64_t keepalive_ms = 0;
  std::int64_t drop_every = 0;
  bool priming = false;
  std::string type;
  std::int64_t first_k = 1;
  std::int64_t skip = 0;       // this k is never sent (a gap the client must report)
};

// GET /events: the generic stream.
class EventsStream final : public Stream {
 public:
  EventsStream(Server& server, net::ServerRequest& request, EventsParams params)
      : Stream(server, request), m_p(std::move(params)), m_next_k(m_p.first_k) {}

  void begin() {
    start_sse();
    m_start_ns = mono_ns();
    m_last_write_ns = m_start_ns;
    std::string head;
    if (m_p.retry_ms >= 0) head += "retry: " + std::to_string(m_p.retry_ms) + "\n\n";
    if (m_p.priming && m_p.ids != IdMode::none) {
      head += "id: " + event_id(m_p.ids, m_next_k - 1, m_server.salt()) + "\ndata:\n\n";
    }
    if (!head.empty()) write(head);
    pump();
  }

 private:
  bool ended() const noexcept { return m_p.n > 0 && m_next_k > m_p.n; }

  // Queues event m_next_k. Returns false when the stream finished or started dropping.
  bool send_one() {
    if (m_next_k == m_p.skip) {
      ++m_next_k;
      if (ended()) {
        finish();
        return false;
      }
    }
    std::string out;
    append_event(out, event_id(m_p.ids, m_next_k, m_server.salt()), m_p.type, make_payload(m_next_k, m_p.size));
    write(out);
    ++m_next_k;
    ++m_sent;
    ++m_server.counters().events_sent;
    m_last_write_ns = mono_ns();
    if (ended()) {
      finish();
      return false;
    }
    if (m_p.drop_every > 0 && m_sent >= m_p.drop_every) {
      // Cut once the K events have left user space, so the client gets exactly K of them.
      m_dropping = true;
      return false;
    }
    return true;
  }

  void pump() override {
    if (!live()) return;
    if (m_dropping) {
      if (backlog() == 0) abort();
      return;
    }
    if (ended()) {
      finish();
      return;
    }
    const std::int64_t now = mono_ns();
    std::int64_t next_due_ns = -1;
    if (m_p.rate <= 0) {
      for (int i = 0; i < k_batch_events && backlog() < k_backlog_limit; ++i) {
        if (!send_one()) return;
      }
      // Continue on drain; the timer only matters for keepalives.
    } else {
      const auto due = static_cast<std::int64_t>(static_cast<double>(now - m_start_ns) * m_p.rate / 1e9) + 1;
      while (m_sent < due && backlog() < k_backlog_limit) {
        if (!send_one()) return;
      }
      next_due_ns = m_start_ns + static_cast<std::int64_t>(static_cast<double>(m_sent) * 1e9 / m_p.rate);
    }
    if (m_p.keepalive_ms > 0) {
      const std::int64_t ka_ns = m_p.keepalive_ms * 1'000'000;
      if (now - m_last_write_ns >= ka_ns) {
        write(": ka\n\n");
        m_last_write_ns = now;
      }
      const std::int64_t ka_due = m_last_write_ns + ka_ns;
      next_due_ns = next_due_ns < 0 ? ka_due : std::min(next_due_ns, ka_due);
    }
    if (next_due_ns >= 0) {
      // Millisecond timer: at high rates each tick sends every event that fell due.
      const std::int64_t ms = std::max<std::int64_t>(1, (next_due_ns - mono_ns() + 999'999) / 1'000'000);
      m_timer.arm_ms(ms);
    }
  }

  EventsParams m_p;
  std::int64_t m_next_k;
  std::int64_t m_sent = 0;  // events on this connection
  std::int64_t m_start_ns = 0;
  std::int64_t m_last_write_ns = 0;
  bool m_dropping = false;
};

void reply_text(net::ServerRequest& request, int status, std::string_view body,
                std::string_view type = "text/plain; charset=utf-8") {
  net::Headers h;
  h.set("Content-Type", type);
  request.reply(status, h, body);
}

}  // namespace

// ----------------------------------------------------------------------------- helpers

void append_pad(std::string& out, std::size_t n) { out.append(n, 'x'); }

std::string make_payload(std::int64_t k, std::size_t size) {
  std::string out = "{\"k\":" + std::to_string(k) + ",\"t\":" + std::to_string(mono_ns()) + ",\"pad\":\"";
  const std::size_t fixed = out.size() + 2;
  if (size > fixed) append_pad(out, size - fixed);
  out += "\"}";
  return out;
}

void append_event(std::string& out, std::string_view id, std::string_view type, std::string_view data) {
  if (!type.empty()) {
    out += "event: ";
    out += type;
    out += '\n';
  }
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
}

net::Headers sse_headers() {
  net::Headers h;
  h.set("Content-Type", "text/event-stream");
  h.set("Cache-Control", "no-cache");
  return h;
}

// ----------------------------------------------------------------------------- Stream

Stream::Stream(Server& server, net::ServerRequest& request)
    : m_server(server), m_request(&request), m_timer(server.loop(), [this] { pump_safe(); }) {
  request.set_observer(this);
}

Stream::~Stream() = default;

void Stream::on_client_closed() noexcept {
  m_request = nullptr;  // being destroyed by the server
  ++m_server.counters().client_closed;
  m_server.counters().last_client_closed_ms = wall_ms();
  retire();
}

void Stream::on_drained() noexcept {
  if (pump_on_drain()) pump_safe();
}

void Stream::pump_safe() noexcept {
  if (m_retired) return;
  try {
    pump();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "upstream: stream error: %s\n", e.what());
    try {
      abort();
    } catch (...) {
    }
  } catch (...) {
    std::fprintf(stderr, "upstream: stream error\n");
  }
}

void Stream::start_sse(const net::Headers& extra) {
  net::Headers h = sse_headers();
  for (const net::Header& e : extra.all()) h.set(e.name, e.value);
  m_request->start(200, h);
}

void Stream::write(std::string_view bytes) {
  if (m_request != nullptr) m_request->write(bytes);
}

std::size_t Stream::backlog() const noexcept { return m_request != nullptr ? m_request->backlog() : 0; }

void Stream::finish() {
  if (net::ServerRequest* r = m_request) {
    m_request = nullptr;
    r->finish();
  }
  retire();
}

void Stream::abort() {
  if (net::ServerRequest* r = m_request) {
    m_request = nullptr;
    ++m_server.counters().aborts;
    r->abort();
  }
  retire();
}

void Stream::retire() noexcept {
  if (m_retired) return;
  m_retired = true;
  m_timer.cancel();
  on_retire();
  m_server.retire(this);
}

// ----------------------------------------------------------------------------- Server

Server::Server(net::EventLoop& loop, Options options)
    : m_loop(loop),
      m_options(options),
      m_salt(util::random_seed()),
      m_reaper(loop, [this] { m_retired.clear(); }) {
  m_mcp = make_mcp_service(*this);
}

Server::~Server() {
  // evhttp_free() reports every open stream as closed (they retire); then nothing refers to the
  // MCP sessions any more.
  m_http.reset();
  m_retired.clear();
  m_streams.clear();
  m_mcp.reset();
}

util::Result<void> Server::listen(const net::ListenAddress& address) {
  net::HttpServer::Limits limits;
  limits.write_timeout_s = m_options.write_timeout_s;
  auto http = net::HttpServer::listen(m_loop, address, limits, [this](net::ServerRequest& r) { handle(r); });
  if (!http) return std::move(http).error();
  m_http = std::move(*http);
  return util::ok();
}

const net::ListenAddress& Server::address() const noexcept { return m_http->address(); }

void Server::retire(Stream* stream) noexcept {
  auto it = m_streams.find(stream);
  if (it == m_streams.end()) return;
  m_retired.push_back(std::move(it->second));
  m_streams.erase(it);
  m_reaper.fire();
}

std::string Server::stats_json() const {
  const Counters& c = m_counters;
  return "{\"requests\":" + std::to_string(c.requests) +
         ",\"connections\":" + std::to_string(m_http ? m_http->connection_count() : 0) +
         ",\"streams\":" + std::to_string(c.streams) + ",\"open_streams\":" + std::to_string(m_streams.size()) +
         ",\"events_sent\":" + std::to_string(c.events_sent) + ",\"resumes\":" + std::to_string(c.resumes) +
         ",\"aborts\":" + std::to_string(c.aborts) + ",\"client_closed\":" + std::to_string(c.client_closed) +
         ",\"last_client_closed_ms\":" + std::to_string(c.last_client_closed_ms) +
         ",\"tool_calls\":" + std::to_string(c.tool_calls) +
         ",\"mcp_sessions\":" + std::to_string(m_mcp ? m_mcp->session_count() : 0) + "}";
}

void Server::handle(net::ServerRequest& request) {
  ++m_counters.requests;
  if (m_options.verbose) {
    std::fprintf(stderr, "upstream: %.*s %.*s\n", static_cast<int>(request.method().size()), request.method().data(),
                 static_cast<int>(request.target().size()), request.target().data());
  }
  const std::string_view path = request.path();
  const std::string_view target = request.target();
  const bool get = request.method() == "GET";
  if (path == "/mcp") {
    m_mcp->handle(request);
  } else if (!get) {
    net::Headers h;
    h.set("Allow", "GET");
    request.reply(405, h, "method not allowed\n");
  } else if (path == "/events") {
    handle_events(request);
  } else if (path.starts_with("/status/")) {
    handle_status(request);
  } else if (path == "/html") {
    reply_text(request, 200, "<!doctype html><html><body><h1>not an event stream</h1></body></html>\n",
               "text/html; charset=utf-8");
  } else if (path == "/redirect") {
    net::Headers h;
    h.set("Location", "/events");
    h.set("Content-Type", "text/plain");
    request.reply(302, h, "see /events\n");
  } else if (path == "/endless") {
    serve_endless(*this, request);
  } else if (path == "/big") {
    const long long size = query_int(target, "size", 1 << 20);
    if (size < 0 || size > (1LL << 32)) {
      reply_text(request, 400, "size must be 0..4294967296\n");
      return;
    }
    serve_big(*this, request, static_cast<std::size_t>(size));
  } else if (path == "/stall") {
    serve_stall(*this, request);
  } else if (path == "/drip") {
    const long long n = query_int(target, "n", 10);
    if (n < 0 || n > 100000) {
      reply_text(request, 400, "n must be 0..100000\n");
      return;
    }
    serve_drip(*this, request, n);
  } else if (path == "/framing") {
    const long long n = query_int(target, "n", 20);
    if (n < 0 || n > 100000) {
      reply_text(request, 400, "n must be 0..100000\n");
      return;
    }
    serve_framing(*this, request, n);
  } else if (path == "/stats") {
    reply_text(request, 200, stats_json() + "\n", "application/json");
  } else {
    reply_text(request, 404, "not found\n");
  }
}

void Server::handle_status(net::ServerRequest& request) {
  const auto code = parse_ll(request.path().substr(8));
  if (!code || *code < 200 || *code > 599) {
    reply_text(request, 400, "status must be 200..599\n");
    return;
  }
  reply_text(request, static_cast<int>(*code), "status " + std::to_string(*code) + "\n");
}

void Server::handle_events(net::ServerRequest& request) {
  const std::string_view target = request.target();
  EventsParams p;
  p.n = query_int(target, "n", 0);
  p.rate = std::strtod(query_param(target, "rate").value_or("0").c_str(), nullptr);
  const long long size = query_int(target, "size", 64);
  p.retry_ms = query_int(target, "retry", -1);
  p.keepalive_ms = query_int(target, "keepalive", 0);
  p.drop_every = query_int(target, "drop_every", 0);
  p.skip = query_int(target, "skip", 0);
  p.priming = query_int(target, "priming", 0) == 1;
  p.type = query_param(target, "event").value_or("");
  const std::string ids = query_param(target, "ids").value_or("numeric");
  const std::string resumable = query_param(target, "resumable").value_or("1");
  if (ids == "numeric") {
    p.ids = IdMode::numeric;
  } else if (ids == "none") {
    p.ids = IdMode::none;
  } else if (ids == "opaque") {
    p.ids = IdMode::opaque;
  } else if (ids == "proxy") {
    p.ids = IdMode::proxy;
  } else {
    reply_text(request, 400, "ids must be numeric, none, opaque or proxy\n");
    return;
  }
  if (p.n < 0 || p.rate < 0 || size < 0 || size > (64 << 20) || p.keepalive_ms < 0 || p.drop_every < 0 ||
      p.type.find_first_of("\r\n") != std::string::npos) {
    reply_text(request, 400, "bad parameter (n, rate, size <= 64MiB, keepalive, drop_every >= 0)\n");
    return;
  }
  p.size = static_cast<std::size_t>(size);
  if (resumable != "1" && resumable != "0" && resumable != "404" && resumable != "409") {
    reply_text(request, 400, "resumable must be 1, 0, 404 or 409\n");
    return;
  }

  const std::string_view last_id = request.headers().get("Last-Event-ID").value_or("");
  if (!last_id.empty()) {
    ++m_counters.resumes;
    if (resumable == "404") {
      reply_text(request, 404, "this stream cannot be resumed\n");
      return;
    }
    if (resumable == "409") {
      std::string key(target);
      if (m_conflicted.size() > 10000) m_conflicted.clear();
      if (m_conflicted.emplace(key, true).second) {
        reply_text(request, 409, "conflict: try again\n");
        return;
      }
    }
    if (resumable != "0") {
      const auto k = k_of_event_id(last_id);
      if (!k || *k < 0) {
        reply_text(request, 400, "Last-Event-ID is not an id of this upstream\n");
        return;
      }
      p.first_k = *k + 1;
    }
  }
  adopt<EventsStream>(request, std::move(p)).begin();
}

// ----------------------------------------------------------------------------- main

namespace {

int upstream_main(const std::vector<std::string>& argv) {
  Args args(argv);
  const std::string unknown = unknown_option(
      argv, {"--listen", "--lifetime", "--mcp-resumable", "--mcp-get", "--mcp-delete", "--get-interval-ms", "--listen-drop-every", "--write-timeout"},
      {"--mcp-json", "--mcp-hold-resumed", "--mcp-unknown-session-400", "--verbose"});
  if (!unknown.empty() || args.get("--listen").empty()) {
    if (!unknown.empty() && unknown != "--help") std::fprintf(stderr, "upstream: error: unknown option %s\n", unknown.c_str());
    std::fputs(k_usage, stderr);
    return 2;
  }
  auto address = net::parse_listen_address(args.get("--listen"));
  if (!address || !address->is_loopback()) {
    std::fprintf(stderr, "upstream: error: --listen needs a loopback HOST:PORT, got '%s'\n",
                 args.get("--listen").c_str());
    return 2;
  }
  Options options;
  options.mcp_resumable = args.get_int("--mcp-resumable", 1) != 0;
  options.mcp_get = args.get_int("--mcp-get", 1) != 0;
  options.mcp_delete = args.get_int("--mcp-delete", 1) != 0;
  options.mcp_unknown_session_400 = args.flag("--mcp-unknown-session-400");
  options.mcp_json = args.flag("--mcp-json");
  options.mcp_hold_resumed = args.flag("--mcp-hold-resumed");
  options.get_interval_ms = std::max<long long>(1, args.get_int("--get-interval-ms", 1000));
  options.listen_drop_every = std::max<long long>(0, args.get_int("--listen-drop-every", 0));
  options.verbose = args.flag("--verbose");
  options.write_timeout_s = static_cast<int>(std::clamp<long long>(args.get_int("--write-timeout", 60), 1, 3600));
  const long long lifetime = args.get_int("--lifetime", 300);

  util::log_configure(util::LogLevel::warn, util::LogFormat::text);
  net::init_process();
  auto loop = net::EventLoop::create();
  if (!loop) {
    std::fprintf(stderr, "upstream: error: %s\n", loop.error().message.c_str());
    return 1;
  }
  net::EventLoop& ev = **loop;
  {
    Server server(ev, options);
    if (auto r = server.listen(*address); !r) {
      std::fprintf(stderr, "upstream: error: %s\n", r.error().message.c_str());
      return 1;
    }
    std::fprintf(stderr, "upstream: listening on %s\n", server.address().to_string().c_str());
    net::SignalWatcher signals(ev, {SIGTERM, SIGINT}, [&ev](int) { ev.stop(); });
    net::Timer deadline(ev, [&ev] { ev.stop(); });
    deadline.arm_ms(std::max<long long>(1, lifetime) * 1000);
    ev.run();
    block_termination_signals();
    std::printf("%s\n", server.stats_json().c_str());
    std::fflush(stdout);
  }
  return 0;
}

const Register k_register{"upstream", "SSE / MCP test upstream with fault endpoints", &upstream_main};

}  // namespace
}  // namespace ssestitch::testkit::upstream
