#include "core/tape/file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/mcp/message.h"
#include "core/util/text.h"

namespace ssestitch::tape {

std::string header_line(const TapeFile& t) {
  return "{\"ssestitch_tape\":" + std::to_string(k_tape_version) + ",\"session\":" + util::json_quote(t.session) +
         ",\"protocol_version\":" + util::json_quote(t.protocol_version) +
         ",\"exported_ms\":" + std::to_string(t.exported_ms) + ",\"messages\":" + std::to_string(t.lines.size()) + "}";
}

bool is_tape_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  std::ifstream in(path);
  std::string first;
  return std::getline(in, first) && first.starts_with("{\"ssestitch_tape\":");
}

util::Result<TapeFile> read_tape_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return util::fail(util::Errc::io_error, path + ": " + std::strerror(errno));
  std::string line;
  if (!std::getline(in, line) || !line.starts_with("{\"ssestitch_tape\":")) {
    return util::fail(util::Errc::invalid_argument, path + ": not a tape file (no ssestitch_tape header)");
  }
  const std::string version = mcp::json_at(line, "/ssestitch_tape").value_or("");
  if (version != std::to_string(k_tape_version)) {
    return util::fail(util::Errc::invalid_argument,
                      path + ": tape version " + version + ", but this ssestitch reads version " + std::to_string(k_tape_version));
  }
  TapeFile t;
  t.session = mcp::json_string_at(line, "/session").value_or("");
  t.protocol_version = mcp::json_string_at(line, "/protocol_version").value_or("");
  t.exported_ms = std::strtoll(mcp::json_at(line, "/exported_ms").value_or("0").c_str(), nullptr, 10);
  while (std::getline(in, line)) {
    if (!line.empty()) t.lines.push_back(std::move(line));
  }
  if (in.bad()) return util::fail(util::Errc::io_error, path + ": read failed");
  return t;
}

}  // namespace ssestitch::tape
