// The MCP Streamable HTTP emulation of the test upstream (POST, GET and DELETE on /mcp).
//
// It answers like the official TypeScript SDK server does with an in-memory event store, for
// fast, deterministic proxy tests (the real SDK runs in the e2e tier):
//   - POST initialize -> JSON InitializeResult plus `Mcp-Session-Id` (32 hex); any other POST
//     needs a known session (missing -> 400, unknown -> 404, JSON-RPC error bodies);
//   - notifications and client responses -> 202; ping -> {} (the first ping whose params have
//     a given "cut_once" key gets its answer cut mid-body: chunked, half of it, then the
//     connection closed); tools/list -> the one tool;
//   - tools/call "stream" {count, size, drop_every, drops, interval_ms} -> SSE: `count`
//     notifications/progress (one per interval_ms when given),
//     ids `<stream>_<k>`, then the JSON-RPC response (id `<stream>_<count+1>`), then the end;
//     the connection is cut after every `drop_every` events, for at most `drops` executions
//     with the same progress token (0 = every one); tools/list also offers "read_stream", the
//     same tool annotated readOnlyHint (the proxy may re-issue it); every execution counts in
//     the stats' tool_calls;
//     with protocol >= 2025-11-25 a priming event `<stream>_0` (id, empty data) comes first;
//   - GET + Last-Event-ID `<stream>_<k>` resumes that stream at k+1; 409 while the stream still
//     has a live connection (as the SDK does); GET without it opens the standalone stream (one
//     per session, 409 otherwise; 405 with --mcp-get 0) with a notifications/message every
//     --get-interval-ms;
//   - an unknown Mcp-Session-Id gets 404 (400 "No valid session ID provided" with
//     --mcp-unknown-session-400, as the SDK's example servers answer);
//   - DELETE ends the session's streams and the session (405 with --mcp-delete 0, as a server
//     that does not let clients end sessions answers);
//   - a POST without a session but with `MCP-Protocol-Version: 2026-07-28` (or later) is served
//     statelessly: no session header, no event ids, no priming, no resumption; its routing
//     headers must agree with the body (Mcp-Method = method, Mcp-Name = params.name of
//     tools/call), else 400 with JSON-RPC error -32020, as the revision requires;
//   - subscriptions/listen (2026-07-28) -> SSE: notifications/subscriptions/acknowledged (its
//     subscription id is the request id), then a notifications/resources/updated every
//     --get-interval-ms whose params.k counts up across all listens of the server (so a client
//     can see a gap or a repeat), cut after --listen-drop-every of them; never a final response.
//
// The "event store" is virtual: a stream's events are a pure function of (stream, k) apart from
// the `t` timestamp, so a replay regenerates them instead of keeping them. That bounds memory
// to one small record per stream whatever the counts, and a replay still yields exactly the
// events, ids and final response the original stream had. Production is driven by the
// connection that carries the stream: a stream cut by drop_every is "still running" and a
// resume continues it; the standalone stream's messages fall due with time, so a resume
// replays the ones missed while no connection was open.

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/util/random.h"
#include "tests/tools/tool_util.h"
#include "tests/tools/upstream.h"

namespace ssestitch::testkit::upstream {
namespace {

constexpr std::size_t k_max_sessions = 4096;
constexpr std::size_t k_max_streams_per_session = 1024;
constexpr const char* k_default_protocol = "2025-11-25";
constexpr std::size_t k_max_tokens = 4096;  // progress tokens whose cuts are counted (`drops`)

struct StreamRecord {
  bool standalone = false;
  std::string request_id;      // raw JSON id of the tools/call request
  std::string progress_token;  // raw JSON
  std::int64_t count = 0;
  std::size_t size = 64;
  std::int64_t drop_every = 0;
  std::int64_t interval_ms = 0;  // > 0: one event per interval (a paced tool)
  std::int64_t created_ns = 0;
  std::uint64_t order = 0;
  Stream* writer = nullptr;    // the connection carrying the stream now
};

struct Session {
  std::string id;
  std::string protocol_version;
  bool stateless = false;  // MCP 2026-07-28: no session, no ids, no resumption
  std::uint64_t next_stream = 1;
  std::unordered_map<std::string, StreamRecord> streams;  // by stream id ("st3", "gs1")
};

std::string error_body(int code, std::string_view message, std::string_view id = "null") {
  return "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":" + std::to_string(code) + ",\"message\":\"" + std::string(message) +
         "\"},\"id\":" + std::string(id) + "}";
}

std::string result_body(std::string_view id, std::string_view result) {
  return "{\"jsonrpc\":\"2.0\",\"id\":" + std::string(id) + ",\"result\":" + std::string(result) + "}";
}

std::string done_result(std::int64_t count) {
  return "{\"content\":[{\"type\":\"text\",\"text\":\"done " + std::to_string(count) + "\"}]}";
}

net::Headers json_headers(std::string_view session) {
  net::Headers h;
  h.set("Content-Type", "application/json");
  if (!session.empty()) h.set("Mcp-Session-Id", session);
  return h;
}

void reply_json(net::ServerRequest& request, int status, std::string_view body, std::string_view session = {}) {
  request.reply(status, json_headers(session), body);
}

// 405 with the methods that are allowed, as the SDK's servers answer.
void reply_not_allowed(net::ServerRequest& request, std::string_view allow, std::string_view message) {
  net::Headers h = json_headers({});
  h.set("Allow", allow);
  request.reply(405, h, error_body(-32000, message));
}

// Base of both MCP streams: ids, the record link, and the SSE start.
class McpStream : public Stream {
 public:
  McpStream(Server& server, net::ServerRequest& request, Session& session, std::string stream_id,
            StreamRecord& record, std::int64_t first_k)
      : Stream(server, request),
        m_session(session),
        m_stream_id(std::move(stream_id)),
        m_record(record),
        m_next_k(first_k) {
    m_record.writer = this;
  }

  void begin(bool priming) {
    net::Headers h;
    if (!m_session.stateless) h.set("Mcp-Session-Id", m_session.id);
    start_sse(h);
    if (priming) {
      // MCP 2025-11-25: an event with an id and empty data, the first resumable position.
      write("id: " + event_id(m_next_k - 1) + "\ndata:\n\n");
    }
    pump();
  }

 protected:
  void on_retire() noexcept override { m_record.writer = nullptr; }

  std::string event_id(std::int64_t k) const {
    if (!m_server.options().mcp_resumable || m_session.stateless) return {};
    return m_stream_id + "_" + std::to_string(k);
  }

  void send(std::int64_t k, std::string_view data) {
    std::string out;
    append_event(out, event_id(k), "message", data);
    write(out);
    ++m_server.counters().events_sent;
  }

  Session& m_session;
  std::string m_stream_id;
  StreamRecord& m_record;
  std::int64_t m_next_k;
};

// A tools/call "stream" response (POST) or its resumption (GET).
class ToolStream final : public McpStream {
 public:
  ToolStream(Server& server, net::ServerRequest& request, Session& session, std::string stream_id,
             StreamRecord& record, std::int64_t first_k, bool resumed)
      : McpStream(server, request, session, std::move(stream_id), record, first_k), m_resumed(resumed) {}

 private:
  void pump() override {
    if (!live() || m_idle) return;
    if (m_dropping) {
      if (backlog() == 0) abort();
      return;
    }
    const StreamRecord& r = m_record;
    const int batch = r.interval_ms > 0 ? 1 : k_batch_events;
    if (r.interval_ms > 0 && m_next_k <= r.count + 1) m_timer.arm_ms(r.interval_ms);
    for (int i = 0; i < batch && backlog() < k_backlog_limit; ++i) {
      if (m_next_k <= r.count) {
        send(m_next_k, progress(m_next_k));
        ++m_next_k;
        if (r.drop_every > 0 && ++m_sent >= r.drop_every) {
          m_dropping = true;  // cut once the events have left user space
          return;
        }
        continue;
      }
      if (m_next_k == r.count + 1) {
        send(m_next_k, result_body(r.request_id, done_result(r.count)));
        ++m_next_k;
      }
      if (m_resumed && m_server.options().mcp_hold_resumed) {
        m_idle = true;  // TS SDK 1.32: a resumed stream stays open after the response
        return;
      }
      finish();
      return;
    }
  }

  std::string progress(std::int64_t k) const {
    const StreamRecord& r = m_record;
    std::string out = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":" +
                      r.progress_token + ",\"progress\":" + std::to_string(k) + ",\"total\":" + std::to_string(r.count) +
                      ",\"_meta\":{\"t\":" + std::to_string(mono_ns()) + "},\"message\":\"";
    const std::size_t fixed = out.size() + 3;
    if (r.size > fixed) append_pad(out, r.size - fixed);
    out += "\"}}";
    return out;
  }

  bool pump_on_drain() const noexcept override { return m_record.interval_ms == 0; }

  bool m_resumed;
  bool m_dropping = false;
  bool m_idle = false;
  std::int64_t m_sent = 0;
};

// A subscriptions/listen answer: the acknowledgement, then one update per interval, numbered
// across the server (`next_k`), cut after --listen-drop-every updates.
class ListenStream final : public Stream {
 public:
  ListenStream(Server& server, net::ServerRequest& request, std::string id, std::int64_t& next_k)
      : Stream(server, request), m_id(std::move(id)), m_next_k(next_k) {}

  void begin() {
    start_sse();
    send("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\",\"params\":{"
         "\"notifications\":{\"resourceSubscriptions\":[\"test://counter\"]},\"_meta\":{"
         "\"io.modelcontextprotocol/subscriptionId\":" + m_id + "}}}");
    m_timer.arm_ms(m_server.options().get_interval_ms);
  }

 private:
  void pump() override {
    if (!live()) return;
    if (m_dropping) {
      if (backlog() == 0) abort();
      return;
    }
    send("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\",\"params\":{\"uri\":"
         "\"test://counter\",\"k\":" + std::to_string(m_next_k++) + ",\"_meta\":{"
         "\"io.modelcontextprotocol/subscriptionId\":" + m_id + "}}}");
    const std::int64_t every = m_server.options().listen_drop_every;
    if (every > 0 && ++m_sent >= every) {
      m_dropping = true;
      m_timer.arm_ms(1);
      return;
    }
    m_timer.arm_ms(m_server.options().get_interval_ms);
  }
  bool pump_on_drain() const noexcept override { return m_dropping; }

  void send(std::string_view data) {
    std::string out;
    append_event(out, "", "message", data);
    write(out);
    ++m_server.counters().events_sent;
  }

  std::string m_id;
  std::int64_t& m_next_k;
  std::int64_t m_sent = 0;
  bool m_dropping = false;
};

// The standalone GET stream: notifications/message k falls due at created + k * interval.
class StandaloneStream final : public McpStream {
 public:
  using McpStream::McpStream;

 private:
  void pump() override {
    if (!live()) return;
    const std::int64_t interval_ns = m_server.options().get_interval_ms * 1'000'000;
    const std::int64_t due = (mono_ns() - m_record.created_ns) / interval_ns;
    for (int i = 0; i < k_batch_events && m_next_k <= due && backlog() < k_backlog_limit; ++i) {
      send(m_next_k, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\","
                     "\"logger\":\"testkit\",\"data\":{\"k\":" +
                         std::to_string(m_next_k) + ",\"t\":" + std::to_string(mono_ns()) + "}}}");
      ++m_next_k;
    }
    if (m_next_k <= due) return;  // behind: continue on drain
    const std::int64_t next_ns = m_record.created_ns + m_next_k * interval_ns;
    m_timer.arm_ms(std::max<std::int64_t>(1, (next_ns - mono_ns() + 999'999) / 1'000'000));
  }
};

class McpServiceImpl final : public McpService {
 public:
  explicit McpServiceImpl(Server& server) : m_server(server) {}

  void handle(net::ServerRequest& request) override {
    if (request.method() == "POST") {
      post(request);
    } else if (request.method() == "GET") {
      get(request);
    } else if (request.method() == "DELETE") {
      del(request);
    } else {
      reply_not_allowed(request, "GET, POST, DELETE", "Method not allowed.");
    }
  }

  std::size_t session_count() const noexcept override { return m_sessions.size(); }

 private:
  // The request's session, or nullptr after answering 400 (no header) or 404 (unknown).
  Session* require_session(net::ServerRequest& request) {
    const auto sid = request.headers().get("Mcp-Session-Id");
    if ((!sid || sid->empty()) && request.headers().get("MCP-Protocol-Version").value_or("") >= "2026-07-28") {
      return &m_stateless;  // 2026-07-28 requests carry no session
    }
    if (!sid || sid->empty()) {
      reply_json(request, 400, error_body(-32000, "Bad Request: Mcp-Session-Id header is required"));
      return nullptr;
    }
    auto it = m_sessions.find(std::string(*sid));
    if (it == m_sessions.end()) {
      if (m_server.options().mcp_unknown_session_400) {  // as the SDK's example servers answer
        reply_json(request, 400, error_body(-32000, "Bad Request: No valid session ID provided"));
      } else {
        reply_json(request, 404, error_body(-32001, "Session not found"));
      }
      return nullptr;
    }
    return it->second.get();
  }

  // A new stream record, evicting the oldest one without a connection when the session is full.
  StreamRecord* new_record(Session& s, const std::string& stream_id) {
    if (s.streams.size() >= k_max_streams_per_session) {
      auto victim = s.streams.end();
      for (auto it = s.streams.begin(); it != s.streams.end(); ++it) {
        if (it->second.writer == nullptr && (victim == s.streams.end() || it->second.order < victim->second.order)) {
          victim = it;
        }
      }
      if (victim == s.streams.end()) return nullptr;
      s.streams.erase(victim);
    }
    StreamRecord& r = s.streams[stream_id];
    r.order = m_next_order++;
    r.created_ns = mono_ns();
    return &r;
  }

  void post(net::ServerRequest& request) {
    const std::string_view body = request.body();
    const auto first = body.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || body[first] != '{') {
      reply_json(request, 400, error_body(-32700, "Parse error: expected one JSON-RPC object"));
      return;
    }
    const auto method = json_string(json_member(body, "method"));
    const auto id = json_member(body, "id");
    const std::string_view params = json_member(body, "params").value_or("{}");
    if (method && *method == "initialize") {
      initialize(request, id.value_or("null"), params);
      return;
    }
    const auto header_method = request.headers().get("Mcp-Method");
    const auto header_name = request.headers().get("Mcp-Name");
    if ((header_method && header_method != method) ||
        (header_name && header_name != json_string(json_member(params, "name")))) {
      reply_json(request, 400, error_body(-32020, "Mcp-Method or Mcp-Name does not match the body", id.value_or("null")));
      return;
    }
    Session* session = require_session(request);
    if (session == nullptr) return;
    if (!method || method->starts_with("notifications/") || !id) {
      // Notifications and responses to server requests: accepted, no body (spec: 202).
      request.reply(202, net::Headers(), "");
      return;
    }
    if (*method == "ping") {
      const std::string answer = result_body(*id, "{}");
      if (const auto key = json_string(json_member(params, "cut_once")); key && m_pings_cut.insert(std::string(*key)).second) {
        request.start(200, json_headers(session->id));
        request.write(std::string_view(answer).substr(0, answer.size() / 2));
        request.abort();
        return;
      }
      reply_json(request, 200, answer, session->id);
    } else if (*method == "tools/list") {
      const std::string schema =
          "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"count\":{\"type\":\"integer\"},\"size\":{"
          "\"type\":\"integer\"},\"drop_every\":{\"type\":\"integer\"},\"drops\":{\"type\":\"integer\"}}}";
      reply_json(request, 200,
                 result_body(*id, "{\"tools\":[{\"name\":\"stream\",\"description\":\"count progress notifications, "
                                  "then the result\"," + schema + "},{\"name\":\"read_stream\",\"description\":\"the "
                                  "same, declared read-only\"," + schema + ",\"annotations\":{\"readOnlyHint\":true}}]}"),
                 session->id);
    } else if (*method == "subscriptions/listen") {
      m_server.adopt<ListenStream>(request, std::string(*id), m_next_listen_k).begin();
    } else if (*method == "tools/call") {
      tools_call(request, *session, *id, params);
    } else {
      reply_json(request, 200, error_body(-32601, "Method not found", *id), session->id);
    }
  }

  void initialize(net::ServerRequest& request, std::string_view id, std::string_view params) {
    if (m_sessions.size() >= k_max_sessions) {
      reply_json(request, 503, error_body(-32000, "too many sessions", id));
      return;
    }
    std::string version(json_string(json_member(params, "protocolVersion")).value_or(k_default_protocol));
    if (version.empty() || version.find_first_of("\"\\") != std::string::npos) version = k_default_protocol;
    auto session = std::make_unique<Session>();
    session->id = util::random_hex(16);
    session->protocol_version = version;
    const std::string result = "{\"protocolVersion\":\"" + version +
                               "\",\"capabilities\":{\"tools\":{\"listChanged\":false},\"logging\":{}},"
                               "\"serverInfo\":{\"name\":\"ssestitch-testkit\",\"version\":\"1.0.0\"}}";
    const std::string sid = session->id;
    m_sessions.emplace(sid, std::move(session));
    reply_json(request, 200, result_body(id, result), sid);
  }

  void tools_call(net::ServerRequest& request, Session& session, std::string_view id, std::string_view params) {
    const auto name = json_string(json_member(params, "name"));
    const std::string_view args = json_member(params, "arguments").value_or("{}");
    if (!name || (*name != "stream" && *name != "read_stream")) {
      reply_json(request, 200, error_body(-32602, "Unknown tool (only \\\"stream\\\", \\\"read_stream\\\")", id),
                 session.id);
      return;
    }
    ++m_server.counters().tool_calls;
    const long long count = json_int(json_member(args, "count")).value_or(10);
    const long long size = json_int(json_member(args, "size")).value_or(64);
    long long drop_every = json_int(json_member(args, "drop_every")).value_or(0);
    const long long drops = json_int(json_member(args, "drops")).value_or(0);
    const long long interval_ms = std::clamp(json_int(json_member(args, "interval_ms")).value_or(0), 0LL, 10'000LL);
    if (count < 0 || count > 100'000'000 || size < 0 || size > (1 << 20) || drop_every < 0) {
      reply_json(request, 200, error_body(-32602, "Invalid arguments: count 0..1e8, size 0..1MiB, drop_every >= 0", id),
                 session.id);
      return;
    }
    if (m_server.options().mcp_json) {
      reply_json(request, 200, result_body(id, done_result(count)), session.id);
      return;
    }
    std::string token(id);
    if (const auto meta = json_member(params, "_meta")) {
      if (const auto t = json_member(*meta, "progressToken")) token = std::string(*t);
    }
    const std::string stream_id = "st" + std::to_string(session.next_stream++);
    StreamRecord* r = new_record(session, stream_id);
    if (r == nullptr) {
      reply_json(request, 503, error_body(-32000, "too many open streams", id), session.id);
      return;
    }
    r->request_id = std::string(id);
    r->progress_token = token;
    r->count = count;
    r->size = static_cast<std::size_t>(size);
    if (drops > 0 && drop_every > 0) {  // cut only the first `drops` executions of this token
      if (m_cuts.size() >= k_max_tokens) m_cuts.clear();
      if (m_cuts[token]++ >= drops) drop_every = 0;
    }
    r->drop_every = drop_every;
    r->interval_ms = interval_ms;
    const bool priming = m_server.options().mcp_resumable && !session.stateless &&
                         session.protocol_version >= "2025-11-25";
    m_server.adopt<ToolStream>(request, session, stream_id, *r, 1, false).begin(priming);
  }

  void get(net::ServerRequest& request) {
    Session* session = require_session(request);
    if (session == nullptr) return;
    const std::string_view last = request.headers().get("Last-Event-ID").value_or("");
    if (last.empty() && !m_server.options().mcp_get) {
      reply_not_allowed(request, "POST, DELETE", "Method not allowed: no standalone stream");
      return;
    }
    if (last.empty()) {
      for (const auto& [sid, rec] : session->streams) {
        if (rec.standalone && rec.writer != nullptr) {
          reply_json(request, 409, error_body(-32000, "Conflict: Only one SSE stream is allowed per session"));
          return;
        }
      }
      const std::string stream_id = "gs" + std::to_string(session->next_stream++);
      StreamRecord* r = new_record(*session, stream_id);
      if (r == nullptr) {
        reply_json(request, 503, error_body(-32000, "too many open streams"));
        return;
      }
      r->standalone = true;
      m_server.adopt<StandaloneStream>(request, *session, stream_id, *r, 1).begin(false);
      return;
    }
    ++m_server.counters().resumes;
    if (!m_server.options().mcp_resumable) {
      reply_not_allowed(request, "POST, DELETE", "Method not allowed: this server cannot resume streams");
      return;
    }
    const auto us = last.rfind('_');
    const auto k = us == std::string_view::npos ? std::nullopt : parse_ll(last.substr(us + 1));
    auto it = k ? session->streams.find(std::string(last.substr(0, us))) : session->streams.end();
    if (!k || *k < 0 || it == session->streams.end()) {
      reply_json(request, 400, error_body(-32000, "Invalid event ID"));
      return;
    }
    StreamRecord& r = it->second;
    if (r.writer != nullptr) {
      reply_json(request, 409, error_body(-32000, "Conflict: Stream already has an active connection"));
      return;
    }
    if (r.standalone) {
      m_server.adopt<StandaloneStream>(request, *session, it->first, r, *k + 1).begin(false);
    } else {
      m_server.adopt<ToolStream>(request, *session, it->first, r, *k + 1, true).begin(false);
    }
  }

  void del(net::ServerRequest& request) {
    Session* session = require_session(request);
    if (session == nullptr) return;
    if (!m_server.options().mcp_delete) {
      reply_not_allowed(request, "GET, POST", "Method not allowed: sessions are not deleted here");
      return;
    }
    std::vector<Stream*> writers;
    for (auto& [sid, rec] : session->streams) {
      if (rec.writer != nullptr) writers.push_back(rec.writer);
    }
    for (Stream* w : writers) w->finish();  // each clears its record's writer as it retires
    const std::string sid = session->id;
    m_sessions.erase(sid);
    request.reply(200, net::Headers(), "");
  }

  Server& m_server;
  std::uint64_t m_next_order = 1;
  std::int64_t m_next_listen_k = 1;
  std::unordered_map<std::string, long long> m_cuts;  // progress token -> executions cut
  std::unordered_set<std::string> m_pings_cut;       // ping cut_once keys seen
  std::unordered_map<std::string, std::unique_ptr<Session>> m_sessions;
  Session m_stateless = [] {
    Session s;
    s.protocol_version = "2026-07-28";
    s.stateless = true;
    return s;
  }();
};

}  // namespace

std::unique_ptr<McpService> make_mcp_service(Server& server) { return std::make_unique<McpServiceImpl>(server); }

}  // namespace ssestitch::testkit::upstream
