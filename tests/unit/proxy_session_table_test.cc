#include <doctest/doctest.h>

#include <set>
#include <string>

#include "core/proxy/session_table.h"

using namespace ssestitch;

namespace {

store::SessionRecord session_record(std::string id, store::SessionState state) {
  store::SessionRecord r;
  r.id = std::move(id);
  r.state = state;
  return r;
}

}  // namespace

TEST_SUITE_BEGIN("proxy");

TEST_CASE("proxy::SessionTable: ids are fresh, 128-bit hex, bound to their principal") {
  proxy::SessionTable table;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string upstream_id = "up-" + std::to_string(i);
    proxy::Session& s = table.create(upstream_id, "2025-11-25", "alice", 1'000);
    CHECK(s.record.id.size() == 32);
    CHECK(s.record.id.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(s.record.upstream_id == upstream_id);
    CHECK(s.record.state == store::SessionState::open);
    CHECK(s.record.created_ms == 1'000);
    ids.insert(s.record.id);
  }
  CHECK(ids.size() == 100);
  CHECK(table.open_count() == 100);
  const std::string id = *ids.begin();
  CHECK(table.find(id, "alice") != nullptr);
  CHECK(table.find(id, "mallory") == nullptr);  // another credential: unknown
  CHECK(table.find(id, "") == nullptr);
  CHECK(table.find("0123456789abcdef0123456789abcdef", "alice") == nullptr);
  CHECK(table.find_any(id) != nullptr);
}

TEST_CASE("proxy::SessionTable: closed and expired sessions are not found; load keeps open ones") {
  proxy::SessionTable table;
  proxy::Session& s = table.create("u1", "", "", 0);
  const std::string id = s.record.id;
  s.record.state = store::SessionState::expired;
  CHECK(table.find(id, "") == nullptr);
  CHECK(table.find_any(id) != nullptr);
  CHECK(table.open_count() == 0);

  proxy::SessionTable loaded;
  loaded.load({session_record("a", store::SessionState::open), session_record("b", store::SessionState::closed)});
  CHECK(loaded.find("a", "") != nullptr);
  CHECK(loaded.find_any("b") == nullptr);
  CHECK(loaded.open_count() == 1);
}

TEST_CASE("proxy::principal_of") {
  net::Headers none, alice, bob;
  alice.add("Authorization", "Bearer alice");
  bob.add("Authorization", "Bearer bob");
  CHECK(proxy::principal_of(none).empty());
  CHECK(proxy::principal_of(alice).size() == 64);  // a digest, never the credential itself
  CHECK(proxy::principal_of(alice).find("alice") == std::string::npos);
  CHECK(proxy::principal_of(alice) == proxy::principal_of(alice));
  CHECK(proxy::principal_of(alice) != proxy::principal_of(bob));
}


TEST_CASE("proxy::SessionSetup: what a restarted server must be told again") {
  proxy::SessionSetup setup;
  setup.accepted("notifications/initialized", R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  CHECK(setup.initialized);
  const std::string debug = R"({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"debug"}})";
  const std::string error = R"({"jsonrpc":"2.0","id":4,"method":"logging/setLevel","params":{"level":"error"}})";
  setup.accepted("logging/setLevel", debug);
  setup.accepted("logging/setLevel", error);
  CHECK(setup.log_level == error);  // the last one holds
  const std::string a = R"({"jsonrpc":"2.0","id":5,"method":"resources/subscribe","params":{"uri":"test://a"}})";
  const std::string b = R"({"jsonrpc":"2.0","id":6,"method":"resources/subscribe","params":{"uri":"test://b"}})";
  setup.accepted("resources/subscribe", a);
  setup.accepted("resources/subscribe", b);
  setup.accepted("resources/unsubscribe", R"({"jsonrpc":"2.0","id":7,"method":"resources/unsubscribe","params":{"uri":"test://a"}})");
  REQUIRE(setup.subscriptions.size() == 1);
  CHECK(setup.subscriptions.begin()->second == b);
  setup.accepted("resources/subscribe", R"({"jsonrpc":"2.0","id":8,"method":"resources/subscribe"})");  // no uri
  setup.accepted("tools/call", R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"x"}})");
  CHECK(setup.subscriptions.size() == 1);
  CHECK(setup.log_level == error);
}

TEST_SUITE_END();
