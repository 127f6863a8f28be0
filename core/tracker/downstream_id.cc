#include "core/tracker/downstream_id.h"

#include <charconv>
#include <cstdio>

namespace ssestitch::tracker {
namespace {

// At most 64 bytes of `text`, with non-printable bytes escaped, for error messages.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > 64) out += "...";
  return out + "\"";
}

// Strict unsigned decimal: digits only, no leading zero unless "0", fits in 64 bits.
bool parse_part(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s.front() == '0')) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::string format_downstream_id(DownstreamId id) {
  return std::to_string(id.stream) + "-" + std::to_string(id.seq);
}

util::Result<DownstreamId> parse_downstream_id(std::string_view text) {
  const auto dash = text.find('-');
  DownstreamId id;
  if (dash == std::string_view::npos || !parse_part(text.substr(0, dash), id.stream) ||
      !parse_part(text.substr(dash + 1), id.seq) || id.stream == 0) {
    return util::fail(util::Errc::bad_event_id, "invalid event id " + quote(text) + ": expected <stream>-<seq>");
  }
  return id;
}

util::Result<void> validate_event_id(std::string_view id) {
  if (id.size() > k_max_event_id_bytes) {
    return util::fail(util::Errc::bad_event_id, "event id of " + std::to_string(id.size()) + " bytes exceeds " +
                                                    std::to_string(k_max_event_id_bytes));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "event id contains control byte 0x%02x at offset %zu", c, i);
      return util::fail(util::Errc::bad_event_id, buf);
    }
  }
  return util::ok();
}

util::Result<void> validate_session_id(std::string_view id) {
  if (id.empty()) return util::fail(util::Errc::bad_session_id, "session id is empty");
  if (id.size() > store::k_max_session_id_bytes) {
    return util::fail(util::Errc::bad_session_id, "session id of " + std::to_string(id.size()) +
                                                      " bytes exceeds " + std::to_string(store::k_max_session_id_bytes));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x21 || c > 0x7e) {
      char buf[80];
      std::snprintf(buf, sizeof buf, "session id has byte 0x%02x at offset %zu (visible ASCII only)", c, i);
      return util::fail(util::Errc::bad_session_id, buf);
    }
  }
  return util::ok();
}

}  // namespace ssestitch::tracker
