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

// An XRANGE entry ([id, [field, value, ...]]) as a view into the reply. False when malformed.
bool decode_entry(const redisReply* entry, std::uint64_t stream, EventView& view);

}  // namespace ssestitch::store::redis
