#include "core/tape/message.h"

#include <iterator>

#include "core/mcp/message.h"
#include "core/util/text.h"

namespace ssestitch::tape {
namespace {

std::string key(std::string_view session, std::string_view id) {
  std::string k(session);
  k += '\n';
  k += id;
  return k;
}

void add_string(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  if (value.empty()) {
    out += "null";
    return;
  }
  out += '"';
  util::json_escape_append(out, value);
  out += '"';
}

void add_raw(std::string& out, std::string_view name, std::string_view json) {
  out += ",\"";
  out += name;
  out += "\":";
  if (json.empty()) {
    out += "null";
    return;
  }
  // Line ends in valid JSON can only be whitespace between tokens: blanks keep it one line.
  const std::size_t at = out.size();
  out += json;
  for (std::size_t i = at; i < out.size(); ++i) {
    if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
  }
}

}  // namespace

std::string_view to_string(Direction d) noexcept {
  return d == Direction::to_server ? "client_to_server" : "server_to_client";
}

void Latencies::request(std::string_view session, std::string_view id, std::int64_t time_ms) {
  std::string k = key(session, id);
  if (m_sent.contains(k)) return;
  if (m_sent.size() >= k_max) {
    m_sent.erase(m_order.front());
    m_order.pop_front();
  }
  m_order.push_back(k);
  m_sent.emplace(std::move(k), Sent{time_ms, std::prev(m_order.end())});
}

std::optional<std::int64_t> Latencies::response(std::string_view session, std::string_view id, std::int64_t time_ms) {
  auto it = m_sent.find(key(session, id));
  if (it == m_sent.end()) it = m_sent.find(key({}, id));  // initialize: sent before its session existed
  if (it == m_sent.end()) return std::nullopt;
  const std::int64_t latency = time_ms - it->second.time_ms;
  m_order.erase(it->second.order);
  m_sent.erase(it);
  return latency;
}

Summary summarize(std::string_view text) {
  Summary s;
  if (text.empty()) return s;
  auto body = mcp::classify_post(text);
  if (!body) {
    s.kind = "other";
    s.json = body.error().code == util::Errc::not_jsonrpc;  // JSON, just not JSON-RPC
    return s;
  }
  s.json = true;
  if (body->batch) {
    s.kind = "batch";
    return s;
  }
  const mcp::Message& msg = body->messages.front();
  s.method = msg.method;
  s.id = msg.id;
  switch (msg.kind) {
    case mcp::Kind::request: s.kind = "request"; break;
    case mcp::Kind::notification: s.kind = "notification"; break;
    case mcp::Kind::response: s.kind = msg.error ? "error" : "response"; break;
  }
  return s;
}

std::string ndjson_line(const Message& m, const Summary& summary, Latencies& latencies, bool with_body) {
  const std::string& kind = summary.kind;
  const std::string& method = summary.method;
  const std::string& id = summary.id;
  const bool json = summary.json;
  std::optional<std::int64_t> latency;
  if (kind == "request") latencies.request(m.session, id, m.time_ms);
  if ((kind == "response" || kind == "error") && id != "null") latency = latencies.response(m.session, id, m.time_ms);

  std::string out = "{\"time_ms\":" + std::to_string(m.time_ms);
  add_string(out, "direction", to_string(m.direction));
  add_string(out, "session", m.session);
  add_string(out, "http_method", m.http_method);
  add_raw(out, "status", m.status != 0 ? std::to_string(m.status) : std::string());
  add_string(out, "content_type", m.content_type);
  add_string(out, "kind", kind);
  add_string(out, "method", method);
  add_raw(out, "id", id);
  add_raw(out, "latency_ms", latency ? std::to_string(*latency) : std::string());
  add_raw(out, "size", std::to_string(m.body.empty() ? m.size : m.body.size()));
  add_raw(out, "stream", m.stream != 0 ? std::to_string(m.stream) : std::string());
  add_raw(out, "seq", m.stream != 0 ? std::to_string(m.seq) : std::string());
  out += ",\"from_proxy\":";
  out += m.from_proxy ? "true" : "false";
  if (with_body) {
    add_raw(out, "message", json ? m.body : std::string_view());
    if (!json && !m.body.empty()) add_string(out, "body_text", m.body);
  }
  out += "}\n";
  return out;
}

}  // namespace ssestitch::tape
