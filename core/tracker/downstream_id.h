#pragma once
// Downstream event ids: the ids the proxy mints for the events it sends to clients.
//
// Form: "<stream>-<seq>", both unsigned decimal without sign or leading zeros (except "0"),
// stream >= 1, seq >= 0 (seq 0 means "before the first event": resume from the start). Each
// part fits in 64 bits. Anything else (spaces, "+1", "01", "1-2-3", overflow, empty) is
// rejected, never guessed: a client's Last-Event-ID either names one event of one stream or is
// refused.
//
// The id encodes the stream (as MCP 2025-11-25 asks) so that a resume finds its stream with one
// lookup; it is unique per session because stream numbers are unique per store.
//
// The same header validates ids and session ids that come from outside (upstream event ids,
// `Mcp-Session-Id`) before they are stored or copied into a header.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/store/records.h"
#include "core/util/result.h"

namespace ssestitch::tracker {

using StreamNo = std::uint64_t;
using Seq = std::uint64_t;

struct DownstreamId {
  StreamNo stream = 0;
  Seq seq = 0;
  auto operator<=>(const DownstreamId&) const = default;
};

// "<stream>-<seq>".
std::string format_downstream_id(DownstreamId id);
// Strict parse of "<stream>-<seq>"; bad_event_id with a message that quotes (a prefix of) the input.
util::Result<DownstreamId> parse_downstream_id(std::string_view text);

inline constexpr std::size_t k_max_event_id_bytes = 1024;

// An upstream event id is usable when it is at most k_max_event_id_bytes long and has no
// control bytes (< 0x20 or 0x7F), so that it can be stored and sent back as Last-Event-ID.
// Errors: bad_event_id.
util::Result<void> validate_event_id(std::string_view id);
// A session id (ours or the upstream's) is 1..store::k_max_session_id_bytes bytes of visible ASCII
// 0x21..0x7E (MCP "Session Management"). Errors: bad_session_id.
util::Result<void> validate_session_id(std::string_view id);

}  // namespace ssestitch::tracker
