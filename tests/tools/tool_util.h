#pragma once
// Small helpers shared by the testkit tools: the monotonic clock the tools stamp events with,
// query-string parameters, and just enough JSON reading to pull a few fields out of a JSON-RPC
// message. The JSON helpers scan text; they do not validate it. That is deliberate: simdjson
// belongs to core/mcp, and the tools only read messages that they or the proxy produced.

#include <charconv>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssestitch::testkit {

// CLOCK_MONOTONIC in nanoseconds: the clock of the `t` field in test events, so that an
// upstream and a client on the same machine can measure latency.
inline std::int64_t mono_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// CLOCK_REALTIME in milliseconds: comparable with `date +%s%3N` in test scripts.
inline std::int64_t wall_ms() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// Blocks SIGTERM and SIGINT for the rest of the process. Call when the event loop has ended,
// before the SignalWatcher goes: `timeout` delivers its signal twice (to the child, then to its
// process group), and a second SIGTERM after libevent restored the default action would kill a
// tool that is already exiting cleanly (seen under ASan, where teardown is slow).
inline void block_termination_signals() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// The first argument that is neither one of `flags` nor one of `valued` (which consume the
// next argument), or "" when all are known. A typo in a fault option must fail loudly rather
// than run a test without the fault.
inline std::string unknown_option(const std::vector<std::string>& argv, std::initializer_list<std::string_view> valued,
                                  std::initializer_list<std::string_view> flags) {
  auto in = [](std::initializer_list<std::string_view> set, std::string_view a) {
    for (std::string_view s : set) {
      if (s == a) return true;
    }
    return false;
  };
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (in(flags, argv[i])) continue;
    if (in(valued, argv[i]) && i + 1 < argv.size()) {
      ++i;
      continue;
    }
    return argv[i];
  }
  return {};
}

// Parses all of `text` as a signed decimal; nullopt if it is empty, has other bytes or overflows.
inline std::optional<long long> parse_ll(std::string_view text) noexcept {
  long long v = 0;
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// The value of query parameter `name` in a request target ("/p?a=1&b=x"), %XX and '+'
// decoded; nullopt when absent. "?a" gives "".
inline std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    if (eq == std::string_view::npos) return std::string();
    std::string out;
    std::string_view v = pair.substr(eq + 1);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '+') {
        out += ' ';
      } else if (v[i] == '%' && i + 2 < v.size()) {
        unsigned byte = 0;
        const auto [p, ec] = std::from_chars(v.data() + i + 1, v.data() + i + 3, byte, 16);
        if (ec == std::errc() && p == v.data() + i + 3) {
          out += static_cast<char>(byte);
          i += 2;
        } else {
          out += '%';
        }
      } else {
        out += v[i];
      }
    }
    return out;
  }
  return std::nullopt;
}

// Integer query parameter, or `fallback` when absent or not a number.
inline long long query_int(std::string_view target, std::string_view name, long long fallback) {
  const auto v = query_param(target, name);
  if (!v) return fallback;
  return parse_ll(*v).value_or(fallback);
}

namespace json_detail {

inline std::size_t skip_ws(std::string_view s, std::size_t i) noexcept {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// Index just past the string that starts at s[i] == '"', or npos if it is unterminated.
inline std::size_t skip_string(std::string_view s, std::size_t i) noexcept {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Index just past the value that starts at s[i]: a string, an object or array (brackets
// matched, strings skipped), or a bare token (number, true, false, null).
inline std::size_t skip_value(std::string_view s, std::size_t i) noexcept {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' &&
         s[i] != '\r' && s[i] != '\t') {
    ++i;
  }
  return i;
}

}  // namespace json_detail

// The raw text of member `key` of the JSON object `object` (top level only: members of nested
// objects are not matched), e.g. `"abc"`, `42`, `{"a":1}`; nullopt when absent or malformed.
// The view points into `object`.
inline std::optional<std::string_view> json_member(std::string_view object, std::string_view key) noexcept {
  using namespace json_detail;
  std::size_t i = skip_ws(object, 0);
  if (i >= object.size() || object[i] != '{') return std::nullopt;
  ++i;
  while (true) {
    i = skip_ws(object, i);
    if (i >= object.size() || object[i] != '"') return std::nullopt;
    const std::size_t key_end = skip_string(object, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    const std::string_view name = object.substr(i + 1, key_end - i - 2);
    i = skip_ws(object, key_end);
    if (i >= object.size() || object[i] != ':') return std::nullopt;
    i = skip_ws(object, i + 1);
    const std::size_t value_end = skip_value(object, i);
    if (value_end == std::string_view::npos) return std::nullopt;
    if (name == key) return object.substr(i, value_end - i);
    i = skip_ws(object, value_end);
    if (i >= object.size() || object[i] != ',') return std::nullopt;
    ++i;
  }
}

// The contents of a raw JSON string token without its quotes (escapes are left as written,
// which is enough for method names and ids); nullopt when `raw` is not a string.
inline std::optional<std::string_view> json_string(std::optional<std::string_view> raw) noexcept {
  if (!raw || raw->size() < 2 || raw->front() != '"' || raw->back() != '"') return std::nullopt;
  return raw->substr(1, raw->size() - 2);
}

// A raw JSON number token as an integer; nullopt otherwise (fractions are refused).
inline std::optional<long long> json_int(std::optional<std::string_view> raw) noexcept {
  if (!raw) return std::nullopt;
  return parse_ll(*raw);
}

// The integer that follows the first occurrence of `"name":` anywhere in `text` (any nesting
// depth, optional spaces after the colon); nullopt when absent or not an integer. For reading
// the `k`, `t` and `progress` fields of test events cheaply.
inline std::optional<long long> json_find_int(std::string_view text, std::string_view quoted_key_colon) noexcept {
  const auto at = text.find(quoted_key_colon);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t i = json_detail::skip_ws(text, at + quoted_key_colon.size());
  std::size_t j = i;
  if (j < text.size() && text[j] == '-') ++j;
  while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
  return parse_ll(text.substr(i, j - i));
}

}  // namespace ssestitch::testkit
