#pragma once
// Redis Cluster routing: which node a command goes to. Private to core/store; used by
// redis::Connection, which turns cluster mode on when the server answers CLUSTER SLOTS.
//
// Problem: in a cluster each of the 16384 hash slots lives on one master; a command sent to
// another node is answered with "MOVED SLOT HOST:PORT" (the slot moved for good) or "ASK SLOT
// HOST:PORT" (it is being migrated: ask that node once, after ASKING). hiredis 0.14 knows
// nothing of clusters.
// Approach: the slot of a command's key is CRC16 (XMODEM) of the key, or of its hash tag (the
// text between the first '{' and the next '}', when not empty), modulo 16384. Every command
// RedisStore sends names at most one slot: single-key commands, DEL of keys sharing a tag, and
// scripts whose KEYS share a tag (redis_keys.h). A command without a key (INFO, CONFIG, WAIT,
// SCRIPT) has no slot: the connection sends it to its first node, or to every node
// (Connection::broadcast).
// Rejected: routing by a map refreshed on a timer (a stale map costs one MOVED, which carries
// the new owner: the map is corrected slot by slot as replies say so); a proxy-side cluster
// client library (none in Debian 12 for C; hiredis-cluster is not packaged).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/redis_address.h"
#include "core/util/result.h"

struct redisReply;

namespace ssestitch::store::redis {

inline constexpr std::uint16_t k_slots = 16384;

// The hash slot of `key` (Redis' keyHashSlot).
std::uint16_t key_slot(std::string_view key) noexcept;

// The key that decides where `argv` goes: argv[1], or for EVAL/EVALSHA the first of its KEYS;
// nullopt for a command without a key (and for EVAL with no KEYS).
std::optional<std::string_view> command_key(const std::vector<std::string_view>& argv) noexcept;

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381" (an error reply's text).
struct Redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  NodeAddress node;
};
std::optional<Redirect> parse_redirect(std::string_view error_text);

// One row of CLUSTER SLOTS: slots first..last are served by `master`.
struct SlotRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  NodeAddress master;
};
// CLUSTER SLOTS' reply; a master announced with an empty host is on `seed_host` (Redis says
// so for the node that answered when it does not know its own address). store_unavailable
// when the reply is not a slot table or leaves a slot unserved.
util::Result<std::vector<SlotRange>> parse_slots(const redisReply* r, std::string_view seed_host);

}  // namespace ssestitch::store::redis
