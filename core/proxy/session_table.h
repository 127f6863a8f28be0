#pragma once
// SessionTable: the MCP sessions the proxy knows, in memory, mirrored in the store.
//
// The proxy mints its own session id for each upstream Mcp-Session-Id (128 bits from the OS,
// 32 hex characters) and maps every later request back. A session is bound to the principal
// that created it: a one-way digest of the client's Authorization header (empty without one),
// so a session id presented with another credential is treated as unknown (DESIGN.md
// behaviour 5; MCP 2025-11-25 security best practices: bind session ids to the user).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/net/headers.h"
#include "core/store/records.h"

namespace ssestitch::proxy {

class Exchange;

// What a session set up upstream, kept to set it up again on a restarted server
// (proxy/reinit.h). Memory only: the headers carry the client's credentials.
struct SessionSetup {
  std::string initialize;          // the initialize request body ("" = nothing to re-send)
  net::Headers headers;            // its forwardable headers
  bool initialized = false;        // notifications/initialized was accepted
  std::string log_level;           // the last accepted logging/setLevel request body
  std::map<std::string, std::string> subscriptions;  // uri -> resources/subscribe request body

  // The upstream accepted (2xx) a single-message POST of this session with `method`.
  void accepted(std::string_view method, const std::string& body);
};

struct Session {
  store::SessionRecord record;
  SessionSetup setup;
  std::optional<std::uint64_t> get_stream;  // the session's standalone GET stream, if open
  Exchange* get_opening = nullptr;          // the proxy's own GET for it, not yet answered
                                            // (proxy/standalone_get.h)
  bool client_opened_get = false;           // a client's GET was forwarded: no early one then
};

class SessionTable {
 public:
  // The open session `id` owned by `principal`; nullptr when unknown, closed, expired or owned
  // by another principal (indistinguishable on purpose).
  Session* find(std::string_view id, std::string_view principal);
  // Any session with this id, whatever its state or owner (internal bookkeeping).
  Session* find_any(std::string_view id);
  // Creates an open session for `upstream_id` with a fresh proxy id.
  Session& create(std::string upstream_id, std::string protocol_version, std::string principal, std::int64_t now_ms);
  // Loads sessions from the store at start-up (open ones only are kept).
  void load(const std::vector<store::SessionRecord>& records);
  // A session another proxy created in a store they share (RedisStore), found by id: kept as
  // if loaded at start-up. `record` must be open.
  Session& adopt(store::SessionRecord record);
  std::size_t open_count() const;
  std::vector<Session*> all();

 private:
  std::unordered_map<std::string, Session> m_sessions;
};

// The principal of a request: sha256 of its Authorization value, or "" without one.
std::string principal_of(const net::Headers& headers);

}  // namespace ssestitch::proxy
