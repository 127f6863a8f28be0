#pragma once
// Parsing of the duration and size values that flags, environment variables and config files
// accept, so every subcommand reads "5m" and "1MiB" the same way.
//
// Durations: a non-negative integer followed by one unit: ms, s, m, h or d ("250ms", "15s",
// "5m"); a bare integer means seconds. Sizes: a non-negative integer followed by an optional
// unit: B, K/KiB/KB, M/MiB/MB, G/GiB/GB, T/TiB/TB (case-insensitive); every multiple is a power
// of 1024, as in nginx. Anything else is invalid_argument with a message quoting the input.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace ssestitch::util {

Result<std::int64_t> parse_duration_ms(std::string_view text);
Result<std::uint64_t> parse_size(std::string_view text);

// "250ms", "15s", "5m", "2h", "3d": the largest unit that divides `ms` exactly.
std::string format_duration_ms(std::int64_t ms);
// "512B", "64KiB", "1MiB", "1GiB": the largest unit that divides `bytes` exactly.
std::string format_size(std::uint64_t bytes);

}  // namespace ssestitch::util
