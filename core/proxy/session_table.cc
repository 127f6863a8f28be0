#include "core/proxy/session_table.h"

#include "core/mcp/message.h"
#include "core/util/random.h"
#include "core/util/sha256.h"

namespace ssestitch::proxy {

void SessionSetup::accepted(std::string_view method, const std::string& body) {
  if (method == "notifications/initialized") {
    initialized = true;
  } else if (method == "logging/setLevel") {
    log_level = body;
  } else if (method == "resources/subscribe" || method == "resources/unsubscribe") {
    auto uri = mcp::json_at(body, "/params/uri");
    if (!uri) return;
    if (method == "resources/subscribe") {
      subscriptions[*uri] = body;
    } else {
      subscriptions.erase(*uri);
    }
  }
}

Session* SessionTable::find(std::string_view id, std::string_view principal) {
  Session* s = find_any(id);
  if (s == nullptr || s->record.state != store::SessionState::open || s->record.principal != principal) return nullptr;
  return s;
}

Session* SessionTable::find_any(std::string_view id) {
  auto it = m_sessions.find(std::string(id));
  return it == m_sessions.end() ? nullptr : &it->second;
}

Session& SessionTable::create(std::string upstream_id, std::string protocol_version, std::string principal,
                              std::int64_t now_ms) {
  std::string id = util::random_hex(16);
  while (m_sessions.count(id) != 0) id = util::random_hex(16);
  Session s;
  s.record.id = id;
  s.record.upstream_id = std::move(upstream_id);
  s.record.protocol_version = std::move(protocol_version);
  s.record.principal = std::move(principal);
  s.record.created_ms = now_ms;
  s.record.last_active_ms = now_ms;
  s.record.state = store::SessionState::open;
  return m_sessions.emplace(id, std::move(s)).first->second;
}

void SessionTable::load(const std::vector<store::SessionRecord>& records) {
  for (const store::SessionRecord& r : records) {
    if (r.state != store::SessionState::open) continue;
    Session s;
    s.record = r;
    m_sessions[r.id] = std::move(s);
  }
}

Session& SessionTable::adopt(store::SessionRecord record) {
  Session s;
  std::string id = record.id;
  s.record = std::move(record);
  return m_sessions.insert_or_assign(std::move(id), std::move(s)).first->second;
}

std::size_t SessionTable::open_count() const {
  std::size_t n = 0;
  for (const auto& [id, s] : m_sessions) n += s.record.state == store::SessionState::open ? 1 : 0;
  return n;
}

std::vector<Session*> SessionTable::all() {
  std::vector<Session*> out;
  out.reserve(m_sessions.size());
  for (auto& [id, s] : m_sessions) out.push_back(&s);
  return out;
}

std::string principal_of(const net::Headers& headers) {
  auto auth = headers.get("Authorization");
  return auth ? util::sha256_hex(*auth) : std::string();
}

}  // namespace ssestitch::proxy
