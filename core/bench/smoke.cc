#include "core/bench/smoke.h"


#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/mcp/message.h"
#include "core/net/fetch.h"
#include "core/sse/parser.h"

namespace ssestitch::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* k_protocol = "2025-11-25";
// A streamed answer that arrives in one burst is judged buffered only when it took this long:
// a tool that writes at once is then rare, a buffering middlebox still the likely cause.
constexpr double k_buffer_judge_ms = 1000;

struct Response {
  int status = 0;                 // 0: no HTTP answer (connection failed)
  std::string error;              // why, when status is 0
  net::Headers headers;
  std::string body;
  std::vector<std::string> event_data;  // for text/event-stream: each event's data
  std::vector<std::string> event_ids;
  std::uint64_t comments = 0;
  double ttfb_ms = 0, total_ms = 0;
  std::string header(std::string_view name) const { return std::string(headers.get(name).value_or("")); }
  bool sse() const { return header("content-type").starts_with("text/event-stream"); }
  // The JSON-RPC message answering request `id` (JSON body or an SSE event), or "".
  std::string answer(std::string_view id) const {
    if (!sse()) return body;
    for (const std::string& d : event_data) {
      if (mcp::response_id(d) == std::optional<std::string>(std::string(id))) return d;
    }
    return {};
  }
};

struct Request {
  std::string method = "POST";
  std::string body;
  std::string session;
  std::string last_event_id;
  std::int64_t timeout_ms = 10'000;
  bool stream = false;  // a GET stream read until timeout_ms (a timeout is not an error)
};

// Collects a response: the body (up to 4 MiB) and, for SSE, each event's data and id.
class Sink {
 public:
  explicit Sink(Response& r) : m_r(r), m_t0(Clock::now()) {}
  void headers(int status, const net::Headers& headers) {
    m_r.status = status;
    m_r.headers = headers;
  }
  void body(std::string_view bytes) {
    if (m_first) {
      m_first = false;
      m_r.ttfb_ms = std::chrono::duration<double, std::milli>(Clock::now() - m_t0).count();
    }
    if (m_r.body.size() < (4u << 20)) m_r.body.append(bytes);
    if (!m_r.sse()) return;
    const std::uint64_t c0 = m_parser.comment_count();
    (void)m_parser.feed(bytes, [&](const sse::Event& ev) {
      if (ev.id) m_r.event_ids.push_back(*ev.id);
      if (ev.dispatch && m_r.event_data.size() < 100'000) m_r.event_data.emplace_back(ev.data);
    });
    m_r.comments += m_parser.comment_count() - c0;
  }
  Clock::time_point started() const { return m_t0; }

 private:
  Response& m_r;
  Clock::time_point m_t0;
  sse::Parser m_parser{sse::Limits{}, sse::Raw::drop};
  bool m_first = true;
};

class Http {
 public:
  Http(const SmokeOptions& o) : m_o(o) {}

  Response send(const Request& q) const {
    Response r;
    net::UpstreamRequest req;
    req.method = q.method;
    req.url = m_o.url;
    req.body = q.body;
    req.connect_timeout_ms = std::min<std::int64_t>(q.timeout_ms, 5000);
    req.total_timeout_ms = q.timeout_ms;
    for (const std::string& h : m_o.headers) {
      const auto colon = h.find(':');
      if (colon == std::string::npos) continue;
      std::string_view value = std::string_view(h).substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      req.headers.add(std::string_view(h).substr(0, colon), value);
    }
    req.headers.set("Accept", q.method == "POST" ? "application/json, text/event-stream" : "text/event-stream");
    if (q.method == "POST") req.headers.set("Content-Type", "application/json");
    if (!q.session.empty()) req.headers.set("Mcp-Session-Id", q.session);
    if (!m_protocol.empty()) req.headers.set("MCP-Protocol-Version", m_protocol);
    if (!q.last_event_id.empty()) req.headers.set("Last-Event-ID", q.last_event_id);
    Sink sink(r);
    const net::FetchResult fetched = net::fetch(
        req, [&](int status, const net::Headers& headers) { sink.headers(status, headers); },
        [&](std::string_view bytes) { sink.body(bytes); });
    r.status = fetched.status;
    r.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - sink.started()).count();
    // A GET stream is read until its timeout: that is not an error once it was answered.
    if (!fetched.error.empty() && !(q.stream && fetched.timed_out && r.status != 0) && r.status == 0) {
      r.error = fetched.error;
    }
    return r;
  }

  Response rpc(std::string_view session, int id, std::string_view method, std::string_view params = "") const {
    Request q;
    q.session = std::string(session);
    q.timeout_ms = m_o.timeout_ms;
    q.body = "{\"jsonrpc\":\"2.0\",\"id\":" + std::to_string(id) + ",\"method\":\"" + std::string(method) + "\"" +
             (params.empty() ? "" : ",\"params\":" + std::string(params)) + "}";
    return send(q);
  }

  void set_protocol(std::string p) { m_protocol = std::move(p); }

 private:
  const SmokeOptions& m_o;
  std::string m_protocol;
};

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string describe(const Response& r) {
  if (r.status == 0) return "no answer: " + r.error;
  std::string d = "HTTP " + std::to_string(r.status);
  if (auto msg = mcp::json_at(r.body, "/error/message"); msg) d += ", error " + *msg;
  return d;
}

class Checklist {
 public:
  explicit Checklist(const SmokeOptions& o) : m_o(o), m_http(o) {}

  SmokeReport run() {
    if (!initialize()) return std::move(m_report);
    initialized();
    simple("ping", "ping", "", [](const std::string&) { return std::string("pong"); });
    listing("tools/list", "tools", "/result/tools");
    listing("resources/list", "resources", "/result/resources");
    listing("prompts/list", "prompts", "/result/prompts");
    for (const auto& [tool, args] : m_o.calls) call(tool, args);
    get_stream();
    resumability();
    concurrency();
    remove();
    return std::move(m_report);
  }

 private:
  void add(std::string name, Check::Status s, std::string detail, double ms, bool required = true) {
    m_report.checks.push_back(Check{std::move(name), s, std::move(detail), ms, required});
  }
  void note_ids(const Response& r) {
    if (!r.event_ids.empty() && m_last_id.empty()) m_last_id = r.event_ids.back();
  }

  bool initialize() {
    const auto t0 = Clock::now();
    const Response r = m_http.rpc("", 1, "initialize",
                                  std::string("{\"protocolVersion\":\"") + k_protocol +
                                      "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"ssestitch-bench\",\"version\":\"1\"}}");
    if (r.status == 0) {
      m_report.unreachable = true;
      add("initialize", Check::Status::fail, describe(r), ms_since(t0));
      return false;
    }
    const std::string msg = r.answer("1");
    const auto version = mcp::initialize_result_version(msg);
    if (r.status != 200 || !version) {
      add("initialize", Check::Status::fail, describe(r), ms_since(t0));
      return false;
    }
    note_ids(r);
    m_session = r.header("mcp-session-id");
    m_caps = mcp::json_at(msg, "/result/capabilities").value_or("{}");
    m_report.protocol_version = *version;
    m_http.set_protocol(*version);
    m_init_ttfb = r.ttfb_ms;
    m_init_total = r.total_ms;
    add("initialize", Check::Status::pass,
        "protocol " + *version + ", " + (m_session.empty() ? std::string("stateless (no session id)") : "session id present"),
        ms_since(t0));
    return true;
  }

  void initialized() {
    const auto t0 = Clock::now();
    Request q;
    q.session = m_session;
    q.body = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    q.timeout_ms = m_o.timeout_ms;
    const Response r = m_http.send(q);
    const bool ok = r.status == 202 || r.status == 200 || r.status == 204;
    add("initialized", ok ? Check::Status::pass : Check::Status::fail, ok ? "accepted (" + std::to_string(r.status) + ")" : describe(r),
        ms_since(t0));
  }

  template <typename Detail>
  void simple(const std::string& name, std::string_view method, std::string_view params, Detail detail) {
    const auto t0 = Clock::now();
    const int id = m_next_id++;
    const Response r = m_http.rpc(m_session, id, method, params);
    note_ids(r);
    const std::string msg = r.answer(std::to_string(id));
    if (r.status != 200 || !mcp::json_at(msg, "/result")) {
      add(name, Check::Status::fail, describe(r), ms_since(t0));
      return;
    }
    add(name, Check::Status::pass, detail(msg), ms_since(t0));
  }

  void listing(const std::string& name, const std::string& capability, const std::string& pointer) {
    if (!mcp::json_at(m_caps, "/" + capability)) {
      add(name, Check::Status::skip, "the server has no " + capability + " capability", 0, false);
      return;
    }
    simple(name, name, "", [&](const std::string& msg) {
      return std::to_string(mcp::json_array_size(msg, pointer).value_or(0)) + " " + capability;
    });
  }

  void call(const std::string& tool, const std::string& args) {
    const auto t0 = Clock::now();
    const int id = m_next_id++;
    const Response r = m_http.rpc(m_session, id, "tools/call",
                                  "{\"name\":\"" + tool + "\",\"arguments\":" + (args.empty() ? "{}" : args) + "}");
    note_ids(r);
    const std::string msg = r.answer(std::to_string(id));
    const bool ok = r.status == 200 && mcp::json_at(msg, "/result") && mcp::json_at(msg, "/result/isError") != "true";
    std::string detail = ok ? "ok" : describe(r);
    if (!ok && mcp::json_at(msg, "/result/isError") == "true") detail = "the tool returned isError";
    if (auto err = mcp::json_at(msg, "/error/message"); !ok && err) detail = "JSON-RPC error " + *err;
    if (r.sse()) {
      detail += ", " + std::to_string(r.event_data.size()) + " SSE events";
      // Buffering: a streamed answer whose first byte came with its last was held back somewhere,
      // or its tool wrote it in one burst (a tight loop of notifications in a Node server leaves
      // in one write). Only an answer that took k_buffer_judge_ms can tell the two apart; a
      // shorter one-burst answer is not judged (its detail is kept while the status stays skip).
      if (r.event_data.size() > 2 && m_buffering_status == Check::Status::skip) {
        const bool burst = r.ttfb_ms > r.total_ms * 0.9;
        char buf[200];
        std::snprintf(buf, sizeof buf, "first byte after %.1f ms, last after %.1f ms (tool %s)", r.ttfb_ms, r.total_ms, tool.c_str());
        if (!burst) {
          m_buffering_status = Check::Status::pass;
          m_buffering = std::string("streamed: ") + buf;
        } else if (r.total_ms >= k_buffer_judge_ms) {
          m_buffering_status = Check::Status::fail;
          m_buffering = std::string("buffered: ") + buf;
        } else if (m_buffering.empty()) {
          m_buffering = std::string("not judged: ") + buf +
                        ", all in one burst and too short to tell a buffering middlebox from a tool that writes at once";
        }
      }
    }
    add("call " + tool, ok ? Check::Status::pass : Check::Status::fail, detail, ms_since(t0));
  }

  void get_stream() {
    const auto t0 = Clock::now();
    Request q;
    q.method = "GET";
    q.session = m_session;
    q.stream = true;
    q.timeout_ms = std::min<std::int64_t>(m_o.timeout_ms, 3000);
    const Response r = m_http.send(q);
    note_ids(r);
    char buf[160];
    if (r.status == 200 && r.sse()) {
      add("get-stream", Check::Status::pass, "opened (text/event-stream)", ms_since(t0));
      if (r.comments > 0) {
        std::snprintf(buf, sizeof buf, "%llu keepalive comments in %.1f s", static_cast<unsigned long long>(r.comments), r.total_ms / 1000);
        add("keepalive", Check::Status::pass, buf, 0, false);
      } else {
        std::snprintf(buf, sizeof buf, "none seen within %.1f s on the idle GET stream", r.total_ms / 1000);
        add("keepalive", Check::Status::skip, buf, 0, false);
      }
    } else if (r.status == 405) {
      add("get-stream", Check::Status::pass, "not offered (405, allowed by the spec)", ms_since(t0));
      add("keepalive", Check::Status::skip, "no GET stream to watch", 0, false);
    } else {
      add("get-stream", Check::Status::fail, describe(r), ms_since(t0));
      add("keepalive", Check::Status::skip, "no GET stream to watch", 0, false);
    }
    if (m_buffering_status != Check::Status::skip) {
      add("buffering", m_buffering_status, m_buffering, 0);
    } else if (!m_buffering.empty()) {
      add("buffering", Check::Status::skip, m_buffering + "; --call a tool that streams for a second or more", 0, false);
    } else {
      std::snprintf(buf, sizeof buf, "initialize: first byte after %.1f ms, last after %.1f ms (no streamed tool call to judge; use --call)",
                    m_init_ttfb, m_init_total);
      add("buffering", Check::Status::skip, buf, 0, false);
    }
  }

  // Required: a stream that cannot be resumed is lost on the first network blip (what
  // `ssestitch proxy` is for). MCP 2026-07-28 has no resumption at all: skipped there.
  void resumability() {
    if (m_report.protocol_version >= "2026-07-28") {
      add("resumability", Check::Status::skip, "MCP " + m_report.protocol_version + " has no resumption", 0, false);
      return;
    }
    if (m_last_id.empty()) {
      add("resumability", Check::Status::fail, "not supported: the server sent no SSE event ids (no event store?)", 0);
      return;
    }
    const auto t0 = Clock::now();
    Request q;
    q.method = "GET";
    q.session = m_session;
    q.last_event_id = m_last_id;
    q.stream = true;
    q.timeout_ms = 1000;
    const Response r = m_http.send(q);
    if (r.status == 200 && r.sse()) {
      add("resumability", Check::Status::pass, "resumed: GET with Last-Event-ID answered with a stream", ms_since(t0));
    } else {
      add("resumability", Check::Status::fail, "not supported: GET with Last-Event-ID got " + describe(r), ms_since(t0));
    }
  }

  void concurrency() {
    const auto t0 = Clock::now();
    std::mutex m;
    std::vector<double> lat;
    std::uint64_t failures = 0;
    std::string first_error;
    std::vector<std::thread> threads;
    for (std::uint64_t s = 0; s < m_o.sessions; ++s) {
      threads.emplace_back([&, s] {
        Http http(m_o);
        const Response init = http.rpc("", 1, "initialize",
                                       std::string("{\"protocolVersion\":\"") + k_protocol +
                                           "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"ssestitch-bench-" + std::to_string(s) +
                                           "\",\"version\":\"1\"}}");
        const std::string session = init.header("mcp-session-id");
        http.set_protocol(m_report.protocol_version);
        if (init.status != 200) {
          std::lock_guard lk(m);
          ++failures;
          if (first_error.empty()) first_error = describe(init);
          return;
        }
        for (std::uint64_t i = 0; i < m_o.requests; ++i) {
          const auto t = Clock::now();
          const Response r = http.rpc(session, static_cast<int>(i) + 2, "ping");
          const double ms = ms_since(t);
          std::lock_guard lk(m);
          if (r.status == 200 && mcp::json_at(r.answer(std::to_string(i + 2)), "/result")) {
            lat.push_back(ms);
          } else {
            ++failures;
            if (first_error.empty()) first_error = describe(r);
          }
        }
        if (!session.empty()) {
          Request d;
          d.method = "DELETE";
          d.session = session;
          d.timeout_ms = m_o.timeout_ms;
          (void)http.send(d);
        }
      });
    }
    for (auto& t : threads) t.join();
    std::sort(lat.begin(), lat.end());
    auto pct = [&](double q) { return lat.empty() ? 0.0 : lat[static_cast<std::size_t>(q * static_cast<double>(lat.size() - 1))]; };
    char buf[200];
    std::snprintf(buf, sizeof buf, "%llu sessions x %llu pings: p50 %.2f ms, p99 %.2f ms, %llu failed%s%s",
                  static_cast<unsigned long long>(m_o.sessions), static_cast<unsigned long long>(m_o.requests), pct(0.5), pct(0.99),
                  static_cast<unsigned long long>(failures), first_error.empty() ? "" : ": ", first_error.c_str());
    add("concurrency", failures == 0 ? Check::Status::pass : Check::Status::fail, buf, ms_since(t0));
  }

  void remove() {
    if (m_session.empty()) {
      add("delete", Check::Status::skip, "stateless server: no session to delete", 0, false);
      return;
    }
    const auto t0 = Clock::now();
    Request q;
    q.method = "DELETE";
    q.session = m_session;
    q.timeout_ms = m_o.timeout_ms;
    const Response r = m_http.send(q);
    if (r.status == 405) {
      add("delete", Check::Status::pass, "not allowed (405, allowed by the spec)", ms_since(t0));
      return;
    }
    if (r.status < 200 || r.status >= 300) {
      add("delete", Check::Status::fail, describe(r), ms_since(t0));
      return;
    }
    // The spec says 404 for a terminated session; some servers (server-everything) answer 400
    // "no valid session": the session is gone either way, so any 4xx passes, noted.
    const Response after = m_http.rpc(m_session, m_next_id++, "ping");
    const bool ended = after.status >= 400 && after.status < 500;
    add("delete", ended ? Check::Status::pass : Check::Status::fail,
        after.status == 404 ? "session ended (a later request gets 404)"
        : ended             ? "session ended (a later request gets " + std::to_string(after.status) + "; the spec says 404)"
                            : "after DELETE the session still answers: " + describe(after),
        ms_since(t0));
  }

  const SmokeOptions& m_o;
  Http m_http;
  SmokeReport m_report;
  std::string m_session;
  std::string m_caps;
  std::string m_last_id;
  // The buffering verdict: skip until a streamed answer is judged; m_buffering is its detail,
  // or, still skip, that of the first answer too short to judge.
  Check::Status m_buffering_status = Check::Status::skip;
  std::string m_buffering;
  double m_init_ttfb = 0, m_init_total = 0;
  int m_next_id = 2;
};

}  // namespace

std::string_view to_string(Check::Status s) noexcept {
  switch (s) {
    case Check::Status::pass: return "pass";
    case Check::Status::fail: return "fail";
    case Check::Status::skip: return "skip";
  }
  return "fail";
}

SmokeReport run_smoke_checks(const SmokeOptions& options) { return Checklist(options).run(); }

}  // namespace ssestitch::bench
