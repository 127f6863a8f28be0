// Redis Cluster routing (core/store/redis_cluster.h) and redis::Connection in cluster mode, on
// a real three-master cluster (redis_server.h): slots, keys of commands, redirects, and a slot
// moved under an open connection (ASK while it migrates, MOVED once it has moved). RedisStore
// on the cluster passes the shared contract (store_contract_test.cc, "redis-cluster").
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/store/redis_cluster.h"
#include "core/store/redis_connection.h"
#include "tests/unit/redis_server.h"

using namespace ssestitch;
using namespace ssestitch::store;
using namespace ssestitch::test;

TEST_SUITE_BEGIN("store");

TEST_CASE("store::redis::key_slot") {
  CHECK(redis::key_slot("123456789") == 12739);  // CRC16/XMODEM check value 0x31C3
  CHECK(redis::key_slot("foo") == 12182);
  CHECK(redis::key_slot("bar") == 5061);
  CHECK(redis::key_slot("{user1000}.following") == redis::key_slot("user1000"));
  CHECK(redis::key_slot("P:st:{42}") == redis::key_slot("P:ev:{42}"));
  CHECK(redis::key_slot("foo{}{bar}") != redis::key_slot("bar"));  // an empty tag: the whole key
  CHECK(redis::key_slot("foo{{bar}}zap") == redis::key_slot("{bar"));
  CHECK(redis::key_slot("foo{bar}{zap}") == redis::key_slot("bar"));
  CHECK(redis::key_slot("open{only") == redis::key_slot("open{only"));
}

TEST_CASE("store::redis::command_key") {
  using V = std::vector<std::string_view>;
  CHECK(redis::command_key(V{"HGET", "k", "f"}) == "k");
  CHECK(redis::command_key(V{"EVALSHA", "abc", "2", "k1", "k2", "a"}) == "k1");
  CHECK(redis::command_key(V{"eval", "return 1", "1", "k"}) == "k");
  CHECK_FALSE(redis::command_key(V{"EVAL", "return 1", "0"}));
  CHECK_FALSE(redis::command_key(V{"INFO", "memory"}));
  CHECK_FALSE(redis::command_key(V{"wait", "1", "100"}));
  CHECK_FALSE(redis::command_key(V{"SCRIPT", "LOAD", "return 1"}));
  CHECK_FALSE(redis::command_key(V{"PING"}));
}

TEST_CASE("store::redis::parse_redirect") {
  auto m = redis::parse_redirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(m);
  CHECK_FALSE(m->ask);
  CHECK(m->slot == 3999);
  CHECK(m->node == redis::NodeAddress{"127.0.0.1", 6381});
  auto a = redis::parse_redirect("ASK 0 ::1:7000");
  REQUIRE(a);
  CHECK(a->ask);
  CHECK(a->node == redis::NodeAddress{"::1", 7000});
  for (const char* bad : {"ERR unknown", "MOVED", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0",
                          "ASK 1 :7000", "MOVED 1 h:99999"}) {
    CAPTURE(bad);
    CHECK_FALSE(redis::parse_redirect(bad));
  }
}

TEST_CASE("store::redis::parse_url with several nodes") {
  auto a = redis::parse_url("redis://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002,cache?prefix=p");
  REQUIRE_MESSAGE(a, (a ? "" : a.error().message));
  CHECK(a->host == "127.0.0.1");
  CHECK(a->port == 7000);
  CHECK(a->more == std::vector<redis::NodeAddress>{{"127.0.0.1", 7001}, {"::1", 7002}, {"cache", 6379}});
  CHECK(a->display() == "redis://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002,cache:6379?prefix=p");
  for (const char* bad : {"redis://a:1,", "redis://a:1,,b:2", "redis://a:1,b:x", "redis://,a:1", "redis://a:1,[::1"}) {
    CAPTURE(bad);
    auto r = redis::parse_url(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(bad) != std::string::npos);  // the URL is named
  }
  std::string many = "redis://h:1";
  for (int i = 2; i <= 17; ++i) many += ",h:" + std::to_string(i);
  CHECK_FALSE(redis::parse_url(many));
}

TEST_CASE("store::redis::Connection takes the first node of the URL that answers") {
  RedisCluster& cluster = RedisCluster::shared();
  // Port 1: nothing listens there, the connect is refused at once.
  auto address = redis::parse_url("redis://127.0.0.1:1,127.0.0.1:" + std::to_string(cluster.port(1)) + "?prefix=seeds");
  REQUIRE(address);
  auto c = redis::Connection::open(*address, 2000);
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  CHECK(c->cluster());
  auto set = c->command({"SET", "{seeds}k", "v"});
  REQUIRE(set);
  CHECK(redis::text(set->get()) == "OK");

  auto none = redis::parse_url("redis://127.0.0.1:1,127.0.0.1:1?prefix=seeds");
  REQUIRE(none);
  auto refused = redis::Connection::open(*none, 2000);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == util::Errc::store_unavailable);
}

TEST_CASE("store::redis::Connection follows a slot that moves under it") {
  RedisCluster& cluster = RedisCluster::shared();
  auto address = redis::parse_url(cluster.url("moving"));
  REQUIRE(address);
  auto opened = redis::Connection::open(*address, 2000);
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().message));
  redis::Connection& c = *opened;
  CHECK(c.cluster());

  // A hash tag whose slot holds no key yet (the contract tests share this cluster).
  const int bounds[4] = {0, 5461, 10923, 16384};
  std::string tag;
  std::uint16_t slot = 0;
  int owner = 0;
  for (int i = 0; tag.empty(); ++i) {
    const std::string t = "moving" + std::to_string(i);
    slot = redis::key_slot(t);
    owner = slot < bounds[1] ? 0 : slot < bounds[2] ? 1 : 2;
    if (cluster.command(owner, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}) == "0") tag = t;
  }
  const int target = (owner + 1) % 3;
  const std::string key_a = "{" + tag + "}a", key_b = "{" + tag + "}b";
  const std::string s = std::to_string(slot);
  const std::string owner_id = cluster.command(owner, {"CLUSTER", "MYID"});
  const std::string target_id = cluster.command(target, {"CLUSTER", "MYID"});

  SUBCASE("ASK while the slot migrates, MOVED once it has moved; replies stay in order") {
    REQUIRE(cluster.command(target, {"CLUSTER", "SETSLOT", s, "IMPORTING", owner_id}) == "OK");
    REQUIRE(cluster.command(owner, {"CLUSTER", "SETSLOT", s, "MIGRATING", target_id}) == "OK");
    // The key is not on the old owner: it answers ASK, the connection asks the target.
    auto set = c.command({"SET", key_a, "1"});
    REQUIRE(set);
    CHECK(redis::text(set->get()) == "OK");
    for (int n = 0; n < 3; ++n) REQUIRE(cluster.command(n, {"CLUSTER", "SETSLOT", s, "NODE", target_id}) == "OK");

    // The connection's map still says `owner`: MOVED, in the middle of a pipeline whose other
    // commands go to other nodes.
    c.append({"SET", "{other}x", "before"});
    c.append({"GET", key_a});
    c.append({"SET", key_b, "2"});
    c.append({"GET", "{other}x"});
    std::vector<std::string> got;
    for (int i = 0; i < 4; ++i) {
      auto r = c.reply();
      REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
      got.emplace_back(redis::text(r->get()));
    }
    CHECK(got == std::vector<std::string>{"OK", "1", "OK", "before"});
    CHECK(cluster.command(target, {"GET", key_b}) == "2");
    // The map was corrected: the next command goes straight to the target.
    auto again = c.command({"GET", key_b});
    REQUIRE(again);
    CHECK(redis::text(again->get()) == "2");
    CHECK_FALSE(c.broken());
  }
}

TEST_CASE("store::redis::Connection in a cluster: broadcast and refusals") {
  RedisCluster& cluster = RedisCluster::shared();
  auto address = redis::parse_url(cluster.url("bcast"));
  REQUIRE(address);
  auto c = redis::Connection::open(*address, 2000);
  REQUIRE(c);
  auto replies = c->broadcast({"SCRIPT", "LOAD", "return 7"});
  REQUIRE(replies);
  CHECK(replies->size() == 3);  // every master
  for (const auto& r : *replies) CHECK(redis::text(r.get()).size() == 40);
  address->db = 1;
  auto refused = redis::Connection::open(*address, 2000);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("only database 0") != std::string::npos);

  auto single = redis::parse_url(RedisServer::shared().url("bcast"));
  REQUIRE(single);
  auto one = redis::Connection::open(*single, 2000);
  REQUIRE(one);
  CHECK_FALSE(one->cluster());
  auto loaded = one->broadcast({"SCRIPT", "LOAD", "return 7"});
  REQUIRE(loaded);
  CHECK(loaded->size() == 1);
}

TEST_SUITE_END();
