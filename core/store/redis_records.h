#pragma once
// How RedisStore's values read back (the layout is in redis_store.h). Private to core/store.
// Records reuse LmdbStore's versioned value encodings (lmdb_codec.h); a stream's retained
// counters are plain hash fields beside its record, because the append script maintains them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store/records.h"
#include "core/store/redis_connection.h"
#include "core/store/redis_keys.h"

namespace ssestitch::store::redis {

// From the HGETALL reply of a stream's hash: the record, with the retained counters and
// `last_seq` (newest seq ever stored) from their fields. False when the hash is malformed.
bool decode_stream_hash(const redisReply* hash, StreamRecord& rec, std::uint64_t& last_seq);

// A stream's hash as read back: its record (retained counters included) and last_seq.
struct StoredStream {
  StreamRecord rec;
  std::uint64_t last_seq = 0;
};
// Reads the hashes of `streams` in one pipeline: nullopt for a stream without one. Errors:
// those of check() ("redis WHERE: ..."), store_corrupt when a hash fails to decode.
util::Result<std::vector<std::optional<StoredStream>>> read_streams(Connection& c, const Keys& keys,
                                                                    const std::string& where,
                                                                    const std::vector<std::uint64_t>& streams);

// A stream's events are packed, several to a Redis Stream entry (format version 2): the entry's
// id is "L-0", L the seq of its last event, so the entries holding the events after seq S are
// XRANGE (S+1)-0 +. Two fields, in this order:
//   x  the index, 20 bytes per event, little-endian: seq (u64), arrival ms (i64), payload
//      bytes (u32: upstream id + type + data, what Retained::bytes counts); the append script
//      reads it (struct.unpack) to trim by count, bytes and age without the payload;
//   p  the payload, per event: three u32 lengths (upstream id, type, data), then those bytes.
// One entry holds at most k_entry_max_events events and, unless a single event is larger,
// k_entry_max_bytes of payload, so that a reader's page of entries stays small.
// Each entry also has a summary in the stream's list P:ix:{N} (redis_store.h), in entry order:
// first seq (u64), last seq (u64), events (u32), payload bytes (u64), newest arrival ms (i64),
// then the entry's index (x). Retention reads the summaries only: an entry that goes whole
// costs no unpacking and no payload (k_entry_summary_bytes is the part before the index).
inline constexpr std::size_t k_entry_index_bytes = 20;
inline constexpr std::size_t k_entry_summary_bytes = 36;
inline constexpr std::size_t k_entry_max_events = 256;
inline constexpr std::size_t k_entry_max_bytes = 64u << 10;

// One entry's fields, built from `events` (in seq order).
struct PackedEntry {
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;           // payload bytes (Retained::bytes)
  std::int64_t first_arrival_ms = 0;
  std::int64_t max_arrival_ms = 0;
  std::string index;                 // field x
  std::string payload;               // field p
  std::string summary;               // its element of P:ix:{N}
};
// Splits `events` into entries (the limits above).
std::vector<PackedEntry> pack_events(const std::vector<const EventRecord*>& events);

// The events of an XRANGE entry ([id, [x, index, p, payload]]) as views into the reply, appended
// to `out` in seq order. False when malformed.
bool decode_entry(const redisReply* entry, std::uint64_t stream, std::vector<EventView>& out);

}  // namespace ssestitch::store::redis
