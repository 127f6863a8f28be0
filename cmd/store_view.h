#pragma once
// What `inspect` and `replay` share: opening a store read-only next to a running proxy (or a
// copy of a crashed one's), the error line and exit code when that fails, and the text forms of
// records for tables and JSON (stable field names, documented in ssestitch-inspect(1)).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/store/session_store.h"
#include "core/util/result.h"

namespace ssestitch::cmd {

// Opens `dir` read-only (no writer thread, no lock taken: a running proxy keeps writing).
util::Result<std::unique_ptr<store::SessionStore>> open_store_read_only(const std::string& dir);

// Prints "ssestitch: error: MESSAGE" on stderr and returns the exit code for `error`.
int report_error(const util::Error& error);

// "2026-11-24T22:12:40.719Z" (UTC), or "-" for 0.
std::string format_time_ms(std::int64_t ms);
// `s` on one line for a table cell: control characters escaped, cut to `max` characters
// with "..." when longer.
std::string cell_text(std::string_view s, std::size_t max);

}  // namespace ssestitch::cmd

namespace ssestitch::cmd {

// Checks that a resume after `seq` of `stream` is possible: the stream exists (not_found), seq
// is not beyond its newest event, and the events after seq were not evicted (bad_event_id).
// Returns the stream's record.
util::Result<store::StreamRecord> check_resume_point(const store::SessionStore& s, std::uint64_t stream,
                                                     std::uint64_t seq);

}  // namespace ssestitch::cmd
