#pragma once
// The append script of a RedisStore: the one write a stream's events and record get (the layout
// is in redis_store.h). Private to core/store.
//
// One call per stream and commit, atomic in Redis: it appends the commit's events packed into
// entries (redis_records.h; entries whose events are stored already are skipped, so sending a
// call again is harmless), replaces the record when one is given, keeps the retained counters
// (first_seq, events, bytes, evicted, last_seq) beside it and trims the oldest events past the
// per-stream limits (count, bytes, age: it reads their sizes and arrival times from the head
// entries' index, which only a script can do in the same atomic step, then one XTRIM MINID).
// The oldest retained event's arrival is kept beside the counters (first_at), so an append
// reads no entry unless a limit is exceeded or that event may have aged out (measured,
// peer-bench thr: reading the head on every call for the age check cost 11 us of XRANGE plus
// the Lua parsing of its fields, most of a 147 us script call). A call without events and
// record only trims (the age pass).
// Packed entries (format version 2) replaced one entry per event: the script's cost was per
// event (one redis.call XADD and five arguments each: 189 us of Redis time for a call of 18
// events, INFO commandstats), which capped a stream near 50k events/s; see redis_writer.h for
// the figures after.
// Fencing: a stream's first write stores the writer's token as its `owner`; a later call with
// another token is refused ("FENCED <owner>", nothing done) unless the token is "" (a trim,
// which any writer's age pass may do). Ownership moves only by a claim (redis_store.cc).

#include <cstdint>
#include <string>
#include <vector>

#include "core/store/records.h"
#include "core/store/redis_connection.h"
#include "core/store/redis_keys.h"
#include "core/store/session_store.h"

namespace ssestitch::store::redis {

// The Lua text, for SCRIPT LOAD.
const char* append_script() noexcept;

// The EVALSHA arguments of one call: `record` is the encoded StreamRecord ("" keeps the stored
// one), `token` the writer's ("" for a trim only), `events` those of `stream` to append, in seq
// order.
std::vector<std::string> append_args(const std::string& sha, const Keys& keys, std::uint64_t stream, std::int64_t now_ms,
                                     const Retention& retention, std::string record, const std::string& token,
                                     const std::vector<const EventRecord*>& events);

struct AppendResult {
  Retained retained;            // after the call
  std::uint64_t last_seq = 0;   // newest seq ever stored
  std::uint64_t written = 0;    // events appended by this call
  std::uint64_t evicted_now = 0;
};
// False when the reply is not the script's.
bool decode_append_reply(const redisReply* r, AppendResult& out);

}  // namespace ssestitch::store::redis
