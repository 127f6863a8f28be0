#pragma once
// Structured logging to stderr: one line per event worth knowing (start, listen address,
// upstream reconnects with reason and delay, resumes served, evictions, errors).
//
//   util::log(util::LogLevel::info, "upstream_reconnect", {{"stream", 7}, {"delay_ms", 200}});
//
// text:  2026-11-24T18:40:00.123Z info upstream_reconnect stream=7 delay_ms=200
// json:  {"ts":"2026-11-24T18:40:00.123Z","level":"info","msg":"upstream_reconnect","stream":7,...}
//
// Thread-safe (the store's writer thread logs too). Never pass credentials as fields: callers
// log header names, never `Authorization` or cookie values. A small logger of our own rather
// than spdlog keeps the dependency list to the six packages the project chose.

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/util/result.h"

namespace ssestitch::util {

enum class LogLevel { debug, info, warn, error, off };
enum class LogFormat { text, json };

// One key=value of a log line. The value is copied into the line before log() returns.
struct LogField {
  enum class Kind { str, i64, u64, f64, boolean };
  LogField(std::string_view k, std::string_view v) : key(k), kind(Kind::str), s(v) {}
  LogField(std::string_view k, const char* v) : key(k), kind(Kind::str), s(v ? v : "") {}
  LogField(std::string_view k, const std::string& v) : key(k), kind(Kind::str), s(v) {}
  LogField(std::string_view k, bool v) : key(k), kind(Kind::boolean), b(v) {}
  LogField(std::string_view k, int v) : key(k), kind(Kind::i64), i(v) {}
  LogField(std::string_view k, long v) : key(k), kind(Kind::i64), i(v) {}
  LogField(std::string_view k, long long v) : key(k), kind(Kind::i64), i(v) {}
  LogField(std::string_view k, unsigned v) : key(k), kind(Kind::u64), u(v) {}
  LogField(std::string_view k, unsigned long v) : key(k), kind(Kind::u64), u(v) {}
  LogField(std::string_view k, unsigned long long v) : key(k), kind(Kind::u64), u(v) {}
  LogField(std::string_view k, double v) : key(k), kind(Kind::f64), d(v) {}

  std::string_view key;
  Kind kind;
  std::string_view s;
  std::int64_t i = 0;
  std::uint64_t u = 0;
  double d = 0;
  bool b = false;
};

// Sets the minimum level and the format. Call once at start-up, before threads start.
void log_configure(LogLevel level, LogFormat format);
// Whether a line at `level` would be written; lets callers skip building expensive fields.
bool log_enabled(LogLevel level) noexcept;
// Writes one line to stderr if `level` is enabled. Never throws.
void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {}) noexcept;

// Parses "debug|info|warn|error|off" (invalid_argument otherwise).
Result<LogLevel> parse_log_level(std::string_view s);
// Parses "text|json" (invalid_argument otherwise).
Result<LogFormat> parse_log_format(std::string_view s);

}  // namespace ssestitch::util
