#include "cmd/replay_mock.h"

#include <csignal>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cmd/exit_code.h"
#include "cmd/store_view.h"
#include "core/mcp/message.h"
#include "core/mcp/rewrite.h"
#include "core/net/address.h"
#include "core/net/event_loop.h"
#include "core/net/http_server.h"
#include "core/sse/writer.h"
#include "core/tape/file.h"
#include "core/tape/reader.h"
#include "core/tape/script.h"
#include "core/util/clock.h"
#include "core/util/random.h"

namespace ssestitch::cmd {
namespace {

constexpr std::size_t k_max_answers = 1024;  // answers kept for resumption (the oldest go first)
constexpr std::size_t k_max_listed = 100;     // unmatched requests named in the report (all counted)

// One SSE answer being served: its events already mapped to the request that asked for it.
struct Answer {
  std::uint64_t number = 0;
  std::vector<tape::ScriptEvent> events;
  std::size_t next = 0;  // the next event to send
};

class Mock;

// The connection an Answer is written to (the POST's, or a resuming GET's).
class MockClient final : public net::ServerRequest::Observer {
 public:
  MockClient(Mock& mock, net::ServerRequest& request, std::shared_ptr<Answer> answer, std::int64_t start_ms);
  void pump();
  void on_client_closed() noexcept override;

 private:
  void done();
  Mock& m_mock;
  net::ServerRequest* m_request;
  std::shared_ptr<Answer> m_answer;  // shared: the oldest answers are forgotten while served
  std::int64_t m_start_ms;  // when the request came: delays count from here
  net::Timer m_timer;
};

class Mock {
 public:
  Mock(const ReplayOptions& o, tape::Script script, net::EventLoop& loop)
      : m_o(o), m_script(std::move(script)), m_loop(loop) {}

  void handle(net::ServerRequest& request);
  void answered();  // one request fully answered (--exit-after counts them)
  void release(MockClient* c) {
    m_loop.post([this, c] { m_conns.erase(c); });
  }
  net::EventLoop& loop() { return m_loop; }
  double speed() const { return m_o.speed; }
  int report() const;

 private:
  void post(net::ServerRequest& request);
  void resume(net::ServerRequest& request, std::string_view last_event_id);
  void reply_json(net::ServerRequest& request, int status, std::string_view body, bool session = false);
  void start_answer(net::ServerRequest& request, std::vector<tape::ScriptEvent> events);

  const ReplayOptions& m_o;
  tape::Script m_script;
  net::EventLoop& m_loop;
  std::deque<std::shared_ptr<Answer>> m_answers;  // for resumption, at most k_max_answers
  std::uint64_t m_next_answer = 1;
  std::map<MockClient*, std::unique_ptr<MockClient>> m_conns;
  std::uint64_t m_requests = 0, m_matched = 0, m_answered = 0, m_not_recorded = 0;
  std::vector<std::string> m_unmatched;  // the first k_max_listed
};

std::int64_t now_ms() { return util::system_clock().mono_ns() / 1'000'000; }

MockClient::MockClient(Mock& mock, net::ServerRequest& request, std::shared_ptr<Answer> answer, std::int64_t start_ms)
    : m_mock(mock), m_request(&request), m_answer(std::move(answer)), m_start_ms(start_ms), m_timer(mock.loop(), [this] { pump(); }) {
  request.set_observer(this);
}

void MockClient::pump() {
  if (m_request == nullptr) return;
  std::string out;
  const double speed = m_mock.speed();
  Answer& a = *m_answer;
  while (a.next < a.events.size()) {
    const tape::ScriptEvent& e = a.events[a.next];
    if (speed > 0) {
      const std::int64_t due = m_start_ms + static_cast<std::int64_t>(static_cast<double>(e.delay_ms) / speed);
      if (due > now_ms()) {
        m_timer.arm_ms(due - now_ms());
        break;
      }
    }
    const std::string id = std::to_string(a.number) + "-" + std::to_string(a.next + 1);
    sse::append_event(out, sse::OutEvent{id, "message", e.data, std::nullopt});
    ++a.next;
  }
  if (!out.empty()) m_request->write(out);
  if (a.next == a.events.size()) done();
}

void MockClient::done() {
  net::ServerRequest* r = m_request;
  m_request = nullptr;
  m_timer.cancel();
  r->set_observer(nullptr);
  r->finish();
  m_mock.answered();
  m_mock.release(this);
}

void MockClient::on_client_closed() noexcept {
  m_request = nullptr;  // the rest waits for a resume (GET + Last-Event-ID)
  m_timer.cancel();
  m_mock.release(this);
}

void Mock::reply_json(net::ServerRequest& request, int status, std::string_view body, bool session) {
  net::Headers h;
  h.set("Content-Type", "application/json");
  if (session) h.set("Mcp-Session-Id", util::random_hex(16));
  request.reply(status, h, body);
}

void Mock::handle(net::ServerRequest& request) {
  if (request.method() == "POST") return post(request);
  if (request.method() == "DELETE") {
    request.reply(200, net::Headers(), "");
    return;
  }
  if (request.method() == "GET") {
    if (auto last = request.headers().get("Last-Event-ID"); last && !last->empty()) return resume(request, *last);
    net::Headers h;
    h.set("Allow", "POST, DELETE");
    request.reply(405, h, "");
    return;
  }
  request.reply(405, net::Headers(), "");
}

void Mock::post(net::ServerRequest& request) {
  const std::string_view body = request.body();
  auto classified = mcp::classify_post(body);
  if (!classified || classified->batch) {
    return reply_json(request, 400, mcp::error_response("null", mcp::k_error_invalid_request,
                                                        "ssestitch replay: one JSON-RPC message per POST"));
  }
  const mcp::Message& msg = classified->messages.front();
  if (msg.kind != mcp::Kind::request) {
    request.reply(202, net::Headers(), "");
    return;
  }
  ++m_requests;
  tape::Exchange* e = m_script.take(tape::match_key(body));
  if (e == nullptr || e->status == 0 || e->events.empty()) {
    std::string what = tape::match_key(body);
    if (what.size() > 200) what = what.substr(0, 200) + "...";
    if (++m_not_recorded <= k_max_listed) m_unmatched.push_back(what);
    reply_json(request, 200, mcp::error_response(msg.id, -32601, "ssestitch replay: the tape has no (more) answer for " + what));
    answered();
    return;
  }
  ++m_matched;
  // The recorded answer, as the answer to this request.
  const std::string token = mcp::json_at(body, "/params/_meta/progressToken").value_or("");
  std::vector<tape::ScriptEvent> events = e->events;
  for (tape::ScriptEvent& ev : events) {
    if (mcp::response_id(ev.data) == e->id) ev.data = mcp::with_id(ev.data, msg.id).value_or(ev.data);
    if (!token.empty() && !e->progress_token.empty() && ev.data.find("notifications/progress") != std::string::npos &&
        mcp::json_at(ev.data, "/params/progressToken") == e->progress_token) {
      ev.data = mcp::with_progress_token(ev.data, token).value_or(ev.data);
    }
  }
  if (!e->sse) {
    reply_json(request, e->status, events.front().data, e->method == "initialize");
    answered();
    return;
  }
  std::fprintf(stderr, "replay: answer %llu: %s, %zu events\n", static_cast<unsigned long long>(m_next_answer),
               e->method.c_str(), events.size());
  start_answer(request, std::move(events));
}

void Mock::start_answer(net::ServerRequest& request, std::vector<tape::ScriptEvent> events) {
  if (m_answers.size() >= k_max_answers) m_answers.pop_front();
  m_answers.push_back(std::make_shared<Answer>(Answer{m_next_answer++, std::move(events), 0}));
  net::Headers h;
  h.set("Content-Type", "text/event-stream");
  h.set("Cache-Control", "no-cache");
  request.start(200, h);
  auto conn = std::make_unique<MockClient>(*this, request, m_answers.back(), now_ms());
  MockClient* raw = conn.get();
  m_conns.emplace(raw, std::move(conn));
  raw->pump();
}

void Mock::resume(net::ServerRequest& request, std::string_view last) {
  const auto dash = last.find('-');
  const std::uint64_t number = std::strtoull(std::string(last.substr(0, dash)).c_str(), nullptr, 10);
  const std::size_t k = dash == std::string_view::npos ? 0 : std::strtoull(std::string(last.substr(dash + 1)).c_str(), nullptr, 10);
  for (const std::shared_ptr<Answer>& answer : m_answers) {
    Answer& a = *answer;
    if (a.number != number || k > a.events.size()) continue;
    a.next = k;  // exactly the rest: what the client has not seen
    net::Headers h;
    h.set("Content-Type", "text/event-stream");
    h.set("Cache-Control", "no-cache");
    request.start(200, h);
    auto conn = std::make_unique<MockClient>(*this, request, answer, now_ms() - (k > 0 ? a.events[k - 1].delay_ms : 0));
    MockClient* raw = conn.get();
    m_conns.emplace(raw, std::move(conn));
    raw->pump();
    return;
  }
  net::Headers h;
  h.set("Content-Type", "text/plain");
  request.reply(404, h, "no such answer to resume\n");
}

void Mock::answered() {
  ++m_answered;
  if (m_o.exit_after > 0 && m_answered >= m_o.exit_after) m_loop.post([this] { m_loop.stop(); });
}

int Mock::report() const {
  std::fprintf(stderr, "replay: %llu requests, %llu matched, %llu not recorded\n",
               static_cast<unsigned long long>(m_requests), static_cast<unsigned long long>(m_matched),
               static_cast<unsigned long long>(m_not_recorded));
  for (const std::string& u : m_unmatched) std::fprintf(stderr, "replay: not recorded: %s\n", u.c_str());
  if (m_not_recorded > m_unmatched.size()) {
    std::fprintf(stderr, "replay: ... and %llu more\n", static_cast<unsigned long long>(m_not_recorded - m_unmatched.size()));
  }
  return m_not_recorded == 0 ? k_exit_ok : k_exit_failure;
}

}  // namespace

int serve_mock(const GlobalOptions&, const ReplayOptions& o) {
  auto address = net::parse_listen_address(o.serve);
  if (!address) return report_error(address.error());
  std::vector<std::string> lines;
  if (tape::is_tape_file(o.store)) {
    auto t = tape::read_tape_file(o.store);
    if (!t) return report_error(t.error());
    if (!o.session.empty() && o.session != t->session) {
      return report_error({util::Errc::not_found, "the tape " + o.store + " holds session " + t->session + ", not " + o.session});
    }
    lines = std::move(t->lines);
  } else {
    auto opened = open_store_read_only(o.store);
    if (!opened) return report_error(opened.error());
    auto read = tape::read_messages(**opened, o.session);
    if (!read) return report_error(read.error());
    lines = std::move(*read);
  }
  auto script = tape::build_script(lines);
  if (!script) return report_error(script.error());
  auto loop = net::EventLoop::create();
  if (!loop) return report_error(loop.error());
  Mock mock(o, std::move(*script), **loop);
  net::HttpServer::Limits limits;
  auto http = net::HttpServer::listen(**loop, *address, limits, [&mock](net::ServerRequest& r) { mock.handle(r); });
  if (!http) return report_error(http.error());
  net::SignalWatcher signals(**loop, {SIGINT, SIGTERM}, [&](int) { (*loop)->stop(); });
  std::fprintf(stderr, "replay: listening on %s\n", (*http)->address().to_string().c_str());
  (*loop)->run();
  return mock.report();
}

}  // namespace ssestitch::cmd
