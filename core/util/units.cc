#include "core/util/units.h"

#include <cctype>
#include <charconv>
#include <limits>

namespace ssestitch::util {
namespace {

struct Split {
  std::uint64_t number = 0;
  std::string unit;  // lower-cased
};

Result<Split> split_number(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return fail(Errc::invalid_argument,
                "invalid " + std::string(what) + " \"" + std::string(text) + "\": " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  Split out;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out.number);
  if (p == text.data()) return bad("expected a number");
  if (ec == std::errc::result_out_of_range) return bad("too large");
  for (; p != end; ++p) out.unit += static_cast<char>(std::tolower(static_cast<unsigned char>(*p)));
  return out;
}

Result<std::uint64_t> checked_mul(std::uint64_t n, std::uint64_t m, std::string_view text,
                                  std::string_view what, std::uint64_t max) {
  if (m != 0 && n > max / m) {
    return fail(Errc::invalid_argument, "invalid " + std::string(what) + " \"" + std::string(text) + "\": too large");
  }
  return n * m;
}

}  // namespace

Result<std::int64_t> parse_duration_ms(std::string_view text) {
  auto split = split_number(text, "duration");
  if (!split) return std::move(split).error();
  std::uint64_t mul = 0;
  const std::string& u = split->unit;
  if (u == "ms") mul = 1;
  else if (u.empty() || u == "s") mul = 1000;
  else if (u == "m") mul = 60'000;
  else if (u == "h") mul = 3'600'000;
  else if (u == "d") mul = 86'400'000;
  else {
    return fail(Errc::invalid_argument, "invalid duration \"" + std::string(text) +
                                            "\": unknown unit \"" + u + "\" (use ms, s, m, h or d)");
  }
  auto ms = checked_mul(split->number, mul, text, "duration",
                        static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  if (!ms) return std::move(ms).error();
  return static_cast<std::int64_t>(*ms);
}

Result<std::uint64_t> parse_size(std::string_view text) {
  auto split = split_number(text, "size");
  if (!split) return std::move(split).error();
  const std::string& u = split->unit;
  unsigned shift = 0;
  if (u.empty() || u == "b") shift = 0;
  else if (u == "k" || u == "kb" || u == "kib") shift = 10;
  else if (u == "m" || u == "mb" || u == "mib") shift = 20;
  else if (u == "g" || u == "gb" || u == "gib") shift = 30;
  else if (u == "t" || u == "tb" || u == "tib") shift = 40;
  else {
    return fail(Errc::invalid_argument, "invalid size \"" + std::string(text) + "\": unknown unit \"" + u +
                                            "\" (use B, KiB, MiB, GiB or TiB)");
  }
  return checked_mul(split->number, std::uint64_t{1} << shift, text, "size",
                     std::numeric_limits<std::uint64_t>::max());
}

std::string format_duration_ms(std::int64_t ms) {
  struct Unit { std::int64_t ms; const char* name; };
  static constexpr Unit k_units[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}};
  if (ms != 0) {
    for (const Unit& u : k_units) {
      if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
    }
  }
  return std::to_string(ms) + "ms";
}

std::string format_size(std::uint64_t bytes) {
  static constexpr const char* k_names[] = {"TiB", "GiB", "MiB", "KiB"};
  static constexpr unsigned k_shifts[] = {40, 30, 20, 10};
  if (bytes != 0) {
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t unit = std::uint64_t{1} << k_shifts[i];
      if (bytes % unit == 0) return std::to_string(bytes / unit) + k_names[i];
    }
  }
  return std::to_string(bytes) + "B";
}

}  // namespace ssestitch::util
