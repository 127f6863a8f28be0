#include "core/sse/parser.h"

#include <charconv>
#include <cstring>
#include <limits>

#include "core/sse/line.h"

namespace ssestitch::sse {
namespace {

constexpr unsigned char k_bom[3] = {0xEF, 0xBB, 0xBF};

}  // namespace

Parser::Parser(Limits limits, Raw raw) : m_limits(limits), m_keep_raw(raw == Raw::keep) {}

void Parser::reset() {
  m_line.clear();
  m_raw.clear();
  m_block_bytes = 0;
  m_data.clear();
  m_data_view = {};
  m_data_in_view = false;
  m_event = Event{};
  m_block_has_field = false;
  m_pending_cr = false;
  m_bom_state = 0;
  m_poison.reset();
}

util::Result<void> Parser::fail(util::Error error) {
  m_poison = error;
  m_line.clear();
  m_raw.clear();
  m_data.clear();
  m_data_view = {};
  m_data_in_view = false;
  return error;
}

util::Result<void> Parser::feed(std::string_view bytes, util::FunctionRef<void(const Event&)> on_event) {
  if (m_poison) return *m_poison;
  m_bytes_fed += bytes.size();
  // One BOM at the very start of the stream is skipped (WHATWG §9.2.5), even when it arrives
  // split across feeds. A partial match followed by anything else was data after all.
  while (m_bom_state >= 0 && !bytes.empty()) {
    if (static_cast<unsigned char>(bytes.front()) == k_bom[m_bom_state]) {
      bytes.remove_prefix(1);
      if (++m_bom_state == 3) m_bom_state = -1;
      continue;
    }
    const int matched = m_bom_state;
    m_bom_state = -1;
    if (matched > 0) {
      auto r = scan(std::string_view(reinterpret_cast<const char*>(k_bom), static_cast<std::size_t>(matched)), on_event);
      if (!r) return r;
    }
  }
  if (bytes.empty()) return util::ok();
  return scan(bytes, on_event);
}

util::Result<void> Parser::scan(std::string_view bytes, util::FunctionRef<void(const Event&)> on_event) {
  auto r = scan_lines(bytes, on_event);
  if (m_data_in_view) own_data();  // the block goes on in a later feed(): `bytes` will be gone
  return r;
}

void Parser::own_data() {
  m_data.assign(m_data_view);
  m_data.push_back('\n');
  m_data_view = {};
  m_data_in_view = false;
}

util::Result<void> Parser::scan_lines(std::string_view bytes, util::FunctionRef<void(const Event&)> on_event) {
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  // A CR that ended the previous feed and this LF are one line end (CRLF split across feeds).
  if (m_pending_cr) {
    m_pending_cr = false;
    if (*p == '\n') ++p;
  }
  while (p != end) {
    const char* eol = find_line_end(p, end);
    if (eol == end) {
      // Partial line: keep it for the next feed, within the line limit.
      if (m_line.size() + static_cast<std::size_t>(end - p) > m_limits.max_line_bytes) {
        return fail(util::fail(util::Errc::sse_line_too_long,
                               "sse: line longer than the limit of " + std::to_string(m_limits.max_line_bytes) + " bytes"));
      }
      m_line.append(p, end);
      return util::ok();
    }
    std::string_view line(p, static_cast<std::size_t>(eol - p));
    const bool in_input = m_line.empty();
    if (!in_input) {
      m_line.append(line);
      line = m_line;
    }
    if (line.size() > m_limits.max_line_bytes) {
      return fail(util::fail(util::Errc::sse_line_too_long,
                             "sse: line of " + std::to_string(line.size()) + " bytes exceeds the limit of " +
                                 std::to_string(m_limits.max_line_bytes)));
    }
    if (*eol == '\r') {
      if (eol + 1 == end) {
        m_pending_cr = true;
        p = end;
      } else {
        p = eol + (eol[1] == '\n' ? 2 : 1);
      }
    } else {
      p = eol + 1;
    }
    auto r = process_line(line, in_input, on_event);
    m_line.clear();
    if (!r) return r;
  }
  return util::ok();
}

util::Result<void> Parser::process_line(std::string_view line, bool in_input,
                                        util::FunctionRef<void(const Event&)> on_event) {
  if (line.empty()) {
    dispatch_block(on_event);
    return util::ok();
  }
  if (line.front() == ':') {
    ++m_comments;
    // Comments before a block's first field belong to no block (keepalives between events).
    if (!m_block_has_field) return util::ok();
  } else {
    m_block_has_field = true;
  }
  m_block_bytes += line.size() + 1;
  if (m_keep_raw) {
    m_raw.append(line);
    m_raw.push_back('\n');
  }
  if (m_block_bytes > m_limits.max_event_bytes) {
    return fail(util::fail(util::Errc::sse_event_too_large,
                           "sse: event larger than the limit of " + std::to_string(m_limits.max_event_bytes) + " bytes"));
  }
  if (line.front() == ':') return util::ok();

  const auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (in_input && !m_data_in_view && m_data.empty()) {
      m_data_view = value;  // the block's first data line: framed in place
      m_data_in_view = true;
    } else {
      if (m_data_in_view) own_data();
      m_data.append(value);
      m_data.push_back('\n');
    }
  } else if (field == "event") {
    m_event.type.assign(value);
  } else if (field == "id") {
    // A value containing NUL is ignored as a whole; an empty one resets the id.
    if (value.find('\0') == std::string_view::npos) {
      m_event.id = std::string(value);
      m_id_buffer.assign(value);
    }
  } else if (field == "retry") {
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
      std::uint64_t ms = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      (void)ptr;
      if (ec == std::errc::result_out_of_range || ms > std::numeric_limits<std::uint32_t>::max()) {
        ms = std::numeric_limits<std::uint32_t>::max();
      }
      m_event.retry = static_cast<std::uint32_t>(ms);
    }
  }
  // Any other field is ignored (WHATWG §9.2.6).
  return util::ok();
}

void Parser::dispatch_block(util::FunctionRef<void(const Event&)> on_event) {
  if (m_block_has_field) {
    m_last_event_id = m_id_buffer;
    if (m_keep_raw) m_raw.push_back('\n');
    m_event.dispatch = m_data_in_view || !m_data.empty();
    if (m_data_in_view) {
      m_event.data = m_data_view;
    } else if (!m_data.empty()) {
      m_event.data = std::string_view(m_data.data(), m_data.size() - 1);  // without the trailing LF
    }
    m_event.raw = m_raw;
    on_event(m_event);
  }
  // Reset for the next block, keeping the buffers' capacity.
  m_event.type.clear();
  m_event.data = {};
  m_data.clear();
  m_data_view = {};
  m_data_in_view = false;
  m_block_bytes = 0;
  m_event.id.reset();
  m_event.retry.reset();
  m_event.dispatch = false;
  m_event.raw = {};
  m_raw.clear();
  m_block_has_field = false;
}

}  // namespace ssestitch::sse
