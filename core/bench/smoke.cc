#include "core/bench/smoke.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "core/mcp/message.h"
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
  std::string error;              // libcurl's message when status is 0
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::vector<std::string> event_data;  // for text/event-stream: each event's data
  std::vector<std::string> event_ids;
  std::uint64_t comments = 0;
  double ttfb_ms = 0, total_ms = 0;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
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

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

struct Request {
  std::string method = "POST";
  std::string body;
  std::string session;
  std::string last_event_id;
  std::int64_t timeout_ms = 10'000;
  bool stream = false;  // a GET stream read until timeout_ms (a timeout is not an error)
};

struct Sink {
  Response* r;
  sse::Parser parser;
  Clock::time_point t0;
  bool first = true;
};

extern "C" size_t on_header(char* data, size_t size, size_t n, void* arg) noexcept {
  auto* r = static_cast<Response*>(arg);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) r->headers.clear();
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
    r->headers[name] = std::string(v);
  }
  return size * n;
}

extern "C" size_t on_body(char* data, size_t size, size_t n, void* arg) noexcept {
  auto* s = static_cast<Sink*>(arg);
  std::string_view bytes(data, size * n);
  if (s->first) {
    s->first = false;
    s->r->ttfb_ms = std::chrono::duration<double, std::milli>(Clock::now() - s->t0).count();
  }
  if (s->r->body.size() < (4u << 20)) s->r->body.append(bytes);
  if (s->r->sse()) {
    const std::uint64_t c0 = s->parser.comment_count();
    (void)s->parser.feed(bytes, [&](const sse::Event& ev) {
      if (ev.id) s->r->event_ids.push_back(*ev.id);
      if (ev.dispatch && s->r->event_data.size() < 100'000) s->r->event_data.push_back(ev.data);
    });
    s->r->comments += s->parser.comment_count() - c0;
  }
  return size * n;
}

class Http {
 public:
  Http(const SmokeOptions& o) : m_o(o) {}

  Response send(const Request& q) const {
    Response r;
    std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
    if (!c) {
      r.error = "curl_easy_init failed";
      return r;
    }
    curl_slist* raw = nullptr;
    for (const std::string& h : m_o.headers) raw = curl_slist_append(raw, h.c_str());
    raw = curl_slist_append(raw, q.method == "POST" ? "Accept: application/json, text/event-stream" : "Accept: text/event-stream");
    if (q.method == "POST") raw = curl_slist_append(raw, "Content-Type: application/json");
    if (!q.session.empty()) raw = curl_slist_append(raw, ("Mcp-Session-Id: " + q.session).c_str());
    if (!m_protocol.empty()) raw = curl_slist_append(raw, ("MCP-Protocol-Version: " + m_protocol).c_str());
    if (!q.last_event_id.empty()) raw = curl_slist_append(raw, ("Last-Event-ID: " + q.last_event_id).c_str());
    std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
    Sink sink{&r, sse::Parser(), Clock::now(), true};
    CURL* e = c.get();
    curl_easy_setopt(e, CURLOPT_URL, m_o.url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<std::int64_t>(q.timeout_ms, 5000)));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(q.timeout_ms));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    if (q.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, q.body.c_str());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(q.body.size()));
    } else if (q.method != "GET") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q.method.c_str());
    }
    const CURLcode rc = curl_easy_perform(e);
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    r.total_ms = std::chrono::duration<double, std::milli>(Clock::now() - sink.t0).count();
    if (rc != CURLE_OK && !(q.stream && rc == CURLE_OPERATION_TIMEDOUT && r.status != 0)) {
      if (r.status == 0) r.error = curl_easy_strerror(rc);
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
