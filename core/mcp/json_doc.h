#pragma once
// Internal to core/mcp (the only module that includes simdjson.h): the per-thread On-Demand
// parser the message readers share, and the canonical form of JSON-RPC ids.

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace ssestitch::mcp::detail {

// Parses `text` into the calling thread's parser and padded buffer (copied there). The document
// and every view into it die with the thread's next parse().
util::Result<simdjson::ondemand::document> parse(std::string_view text);
// The buffer the last parse() on this thread read: the offsets of raw_json_token() views.
std::string_view parsed_text();

// `s` as a JSON string literal, minimally escaped.
std::string quoted(std::string_view s);

// The canonical text of an id value (message.h): integers in plain decimal, strings re-encoded;
// "null" only when `allow_null`; nullopt when the value cannot be an id.
std::optional<std::string> canonical_id(simdjson::ondemand::value value, bool allow_null);

}  // namespace ssestitch::mcp::detail
