#include "core/util/log.h"

#include <array>
#include <atomic>
#include <charconv>
#include <ctime>
#include <mutex>
#include <sys/time.h>

#include "core/util/text.h"

namespace ssestitch::util {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::atomic<LogFormat> g_format{LogFormat::text};
std::mutex g_write_mutex;

std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "info";
}

void append_timestamp(std::string& out) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  tm utc{};
  gmtime_r(&tv.tv_sec, &utc);
  std::array<char, 40> buf{};
  const int n = std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                              utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                              utc.tm_min, utc.tm_sec, static_cast<int>(tv.tv_usec / 1000));
  out.append(buf.data(), static_cast<size_t>(n > 0 ? n : 0));
}

template <class N>
void append_number(std::string& out, N v) {
  std::array<char, 32> buf{};
  auto [p, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  if (ec == std::errc{}) out.append(buf.data(), p);
}

void append_value(std::string& out, const LogField& f, bool json) {
  switch (f.kind) {
    case LogField::Kind::str: {
      bool quote = json || f.s.empty() ||
                   f.s.find_first_of(" \"=\\\t\r\n") != std::string_view::npos;
      if (quote) out += '"';
      if (quote) json_escape_append(out, f.s); else out.append(f.s);
      if (quote) out += '"';
      break;
    }
    case LogField::Kind::i64: append_number(out, f.i); break;
    case LogField::Kind::u64: append_number(out, f.u); break;
    case LogField::Kind::f64: {
      std::array<char, 32> buf{};
      const int n = std::snprintf(buf.data(), buf.size(), "%.3f", f.d);
      out.append(buf.data(), static_cast<size_t>(n > 0 ? n : 0));
      break;
    }
    case LogField::Kind::boolean: out += f.b ? "true" : "false"; break;
  }
}

}  // namespace

void log_configure(LogLevel level, LogFormat format) {
  g_level.store(level);
  g_format.store(format);
}

bool log_enabled(LogLevel level) noexcept {
  return level != LogLevel::off && level >= g_level.load(std::memory_order_relaxed);
}

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) noexcept {
  if (!log_enabled(level)) return;
  try {
    std::string line;
    line.reserve(128);
    if (g_format.load() == LogFormat::json) {
      line += "{\"ts\":\"";
      append_timestamp(line);
      line += "\",\"level\":\"";
      line += level_name(level);
      line += "\",\"msg\":\"";
      json_escape_append(line, event);
      line += '"';
      for (const LogField& f : fields) {
        line += ",\"";
        json_escape_append(line, f.key);
        line += "\":";
        append_value(line, f, true);
      }
      line += "}\n";
    } else {
      append_timestamp(line);
      line += ' ';
      line += level_name(level);
      line += ' ';
      line += event;
      for (const LogField& f : fields) {
        line += ' ';
        line += f.key;
        line += '=';
        append_value(line, f, false);
      }
      line += '\n';
    }
    std::lock_guard lock(g_write_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
  } catch (...) {
    // Logging must never take the process down (out of memory while formatting): drop the line.
  }
}

Result<LogLevel> parse_log_level(std::string_view s) {
  for (LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
    if (s == level_name(l)) return l;
  }
  return fail(Errc::invalid_argument,
              "invalid log level \"" + std::string(s) + "\" (expected debug, info, warn, error or off)");
}

Result<LogFormat> parse_log_format(std::string_view s) {
  if (s == "text") return LogFormat::text;
  if (s == "json") return LogFormat::json;
  return fail(Errc::invalid_argument, "invalid log format \"" + std::string(s) + "\" (expected text or json)");
}

}  // namespace ssestitch::util
