#pragma once
// Byte encodings of LmdbStore's keys and values (the layouts are specified in lmdb_store.h).
// Private to core/store; nothing here touches LMDB, so the encodings can be unit tested alone.
//
// Encoders append to a caller-owned buffer (reused across records, so the writer does not
// allocate per event); the event value encoder writes into caller-provided memory of exactly
// event_value_size() bytes, which lets the writer encode straight into an MDB_RESERVE slot.
// Decoders never throw: they return false on any malformed input (short buffer, wrong record
// version, an enum or bool out of range, trailing bytes).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/store/records.h"

namespace ssestitch::store::codec {

inline constexpr std::uint8_t k_record_version = 1;
inline constexpr std::size_t k_stream_key_size = 8;
inline constexpr std::size_t k_event_key_size = 16;

using StreamKey = std::array<char, k_stream_key_size>;
using EventKey = std::array<char, k_event_key_size>;

void put_u32_be(char* out, std::uint32_t v) noexcept;
void put_u64_be(char* out, std::uint64_t v) noexcept;
std::uint32_t get_u32_be(const char* in) noexcept;
std::uint64_t get_u64_be(const char* in) noexcept;

StreamKey stream_key(std::uint64_t stream) noexcept;
EventKey event_key(std::uint64_t stream, std::uint64_t seq) noexcept;
// False unless `key` is exactly 8 (stream) or 16 (event) bytes.
bool decode_stream_key(std::string_view key, std::uint64_t& stream) noexcept;
bool decode_event_key(std::string_view key, std::uint64_t& stream, std::uint64_t& seq) noexcept;
// session id, 0x00, u64 stream. Overwrites `out`.
void session_stream_key(std::string_view session, std::uint64_t stream, std::string& out);
// Prefix of every index key of `session` (the id and the 0x00 separator). Overwrites `out`.
void session_stream_prefix(std::string_view session, std::string& out);
// Splits an index key; false if it has no separator at the right place.
bool decode_session_stream_key(std::string_view key, std::string_view& session,
                               std::uint64_t& stream) noexcept;

// Record values. encode_* overwrite `out`; decode_* replace every field of `rec`.
void encode_session(const SessionRecord& rec, std::string& out);
bool decode_session(std::string_view in, SessionRecord& rec);
void encode_stream(const StreamRecord& rec, std::string& out);
bool decode_stream(std::string_view in, StreamRecord& rec);

// Event values (the key carries stream and seq, so they are not repeated).
std::size_t event_value_size(const EventRecord& ev) noexcept;
// Writes exactly event_value_size(ev) bytes at `out`.
void write_event_value(const EventRecord& ev, char* out) noexcept;
// Fills upstream_id, type, data and arrival_ms of `view`, pointing into `in`.
bool decode_event_value(std::string_view in, EventView& view) noexcept;

// A whole Batch, as the journal holds it (lmdb_journal.h): u32 count + that many sessions (u32
// length + session value), the same for events (u64 stream, u64 seq, u32 length + event value)
// and for stream records; Batch::backlog is not kept. encode_batch overwrites `out`;
// decode_batch replaces `batch`.
void encode_batch(const Batch& batch, std::string& out);
bool decode_batch(std::string_view in, Batch& batch);

}  // namespace ssestitch::store::codec
