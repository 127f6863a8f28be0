#include "core/tape/script.h"

#include <map>

#include "core/mcp/message.h"
#include "core/mcp/rewrite.h"
#include "core/tape/message.h"

namespace ssestitch::tape {
namespace {

std::string text_at(const std::string& line, const char* pointer) {
  return mcp::json_string_at(line, pointer).value_or("");
}

std::string raw_at(const std::string& line, const char* pointer) {
  std::string v = mcp::json_at(line, pointer).value_or("null");
  return v == "null" ? std::string() : v;
}

}  // namespace

std::string match_key(std::string_view body) {
  const std::string method = mcp::method_of(body).value_or("");
  if (method == "initialize") return method;
  return method + " " + mcp::canonical_params(body).value_or("{}");
}

Exchange* Script::take(std::string_view key) {
  m_used.resize(exchanges.size(), false);
  for (std::size_t i = 0; i < exchanges.size(); ++i) {
    if (!m_used[i] && exchanges[i].key == key) {
      m_used[i] = true;
      return &exchanges[i];
    }
  }
  return nullptr;
}

util::Result<Script> build_script(const std::vector<std::string>& lines) {
  Script script;
  std::vector<std::int64_t> sent_ms;            // per exchange: when its request passed
  std::map<std::string, std::size_t> by_id;     // request id -> exchange, until answered
  std::vector<std::size_t> waiting_status;      // exchanges without an answer status yet
  std::vector<std::size_t> open_sse;            // SSE answers not yet complete
  std::map<std::uint64_t, std::size_t> by_stream;
  for (const std::string& line : lines) {
    const std::string direction = text_at(line, "/direction");
    if (direction.empty()) return util::fail(util::Errc::invalid_argument, "not a tape line: " + line.substr(0, 80));
    const std::string kind = text_at(line, "/kind");
    const std::string body = raw_at(line, "/message");
    const std::int64_t time = std::strtoll(raw_at(line, "/time_ms").c_str(), nullptr, 10);
    if (!kind.empty() && body.empty() && text_at(line, "/body_text").empty()) {
      return util::fail(util::Errc::invalid_argument,
                        "the tape was recorded without bodies (--record metadata): nothing to answer with");
    }
    if (direction == "client_to_server") {
      if (kind != "request") continue;  // notifications and answers to the server's requests
      Exchange e;
      e.method = text_at(line, "/method");
      e.key = match_key(body);
      e.id = raw_at(line, "/id");
      e.progress_token = mcp::json_at(body, "/params/_meta/progressToken").value_or("");
      by_id[e.id] = script.exchanges.size();
      waiting_status.push_back(script.exchanges.size());
      script.exchanges.push_back(std::move(e));
      sent_ms.push_back(time);
      continue;
    }
    const std::string status = raw_at(line, "/status");
    const std::string stream = raw_at(line, "/stream");
    const std::string id = raw_at(line, "/id");
    const bool is_answer = kind == "response" || kind == "error";
    if (!status.empty()) {
      // A status line, or a JSON answer with its status.
      std::optional<std::size_t> target;
      if (is_answer && by_id.contains(id)) {
        target = by_id[id];
      } else if (!waiting_status.empty()) {
        target = waiting_status.front();
      }
      if (!target) continue;
      std::erase(waiting_status, *target);
      Exchange& e = script.exchanges[*target];
      e.status = std::atoi(status.c_str());
      e.content_type = text_at(line, "/content_type");
      e.sse = e.content_type.starts_with("text/event-stream");
      if (e.sse) {
        open_sse.push_back(*target);
        if (!stream.empty()) by_stream[std::strtoull(stream.c_str(), nullptr, 10)] = *target;
      } else {
        e.events.push_back({time - sent_ms[*target], body});
        by_id.erase(e.id);
      }
      continue;
    }
    // An SSE event: of a logged stream, or (2026-07-28) of the oldest open answer.
    std::optional<std::size_t> target;
    if (!stream.empty()) {
      auto it = by_stream.find(std::strtoull(stream.c_str(), nullptr, 10));
      if (it != by_stream.end()) target = it->second;
    } else if (is_answer && by_id.contains(id)) {
      target = by_id[id];
    } else if (!open_sse.empty()) {
      target = open_sse.front();
    }
    if (!target || body.empty()) continue;  // the session's GET stream: not an answer
    Exchange& e = script.exchanges[*target];
    e.events.push_back({time - sent_ms[*target], body});
    if (is_answer && id == e.id) {
      std::erase(open_sse, *target);
      by_id.erase(e.id);
    }
  }
  return script;
}

}  // namespace ssestitch::tape
