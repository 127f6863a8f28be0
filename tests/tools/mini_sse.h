#pragma once
// MiniSseParser: a small WHATWG `text/event-stream` parser for the testkit client. The tools
// must not depend on core/sse, which they exist to test, so this is an independent reading of
// the spec (HTML "Server-sent events", 9.2.6): CR, LF and CRLF line ends (also split across
// chunks), one UTF-8 BOM at the start of each connection (also split), comments, `data`
// (joined with LF), `id` (ignored when it contains NUL), `retry` (digits only), other fields
// (`event` too: the tools need no type) ignored, dispatch on a blank line. A line or a block
// larger than k_max_line_bytes is an error, which bounds what one connection can make it hold.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace ssestitch::testkit {

inline constexpr std::size_t k_max_line_bytes = 64u << 20;

class MiniSseParser {
 public:
  struct Event {
    std::optional<std::string> id;  // set when the block had a valid id line
    std::string data;               // joined with LF, trailing LF removed
    bool dispatch = false;          // the data buffer was non-empty
    std::optional<long long> retry;
  };

  // Parses `bytes`, calling `on_event(const Event&)` per block. False once a line or block
  // exceeds the limit (the parser is then unusable until reset()).
  template <class F>
  bool feed(std::string_view bytes, F&& on_event) {
    std::size_t i = 0;
    while (m_bom_state >= 0 && i < bytes.size()) {
      if (static_cast<unsigned char>(bytes[i]) == k_bom[m_bom_state]) {
        ++i;
        if (++m_bom_state == 3) m_bom_state = -1;
      } else {
        m_line.append(reinterpret_cast<const char*>(k_bom), static_cast<std::size_t>(m_bom_state));
        m_bom_state = -1;
      }
    }
    while (i < bytes.size()) {
      if (m_pending_cr) {
        m_pending_cr = false;
        if (bytes[i] == '\n') {
          ++i;
          continue;
        }
      }
      const std::size_t end = bytes.find_first_of("\r\n", i);
      if (end == std::string_view::npos) {
        m_line.append(bytes.substr(i));
        if (m_line.size() > k_max_line_bytes) return false;
        break;
      }
      m_line.append(bytes.substr(i, end - i));
      if (bytes[end] == '\r') m_pending_cr = true;
      i = end + 1;
      process_line(on_event);
      m_line.clear();
      if (m_block.data.size() > k_max_line_bytes) return false;
    }
    return true;
  }

  // A new connection: forget the partial line and block.
  void reset() {
    m_line.clear();
    m_pending_cr = false;
    m_block = Event();
    m_has_field = false;
    m_bom_state = 0;
  }
  std::uint64_t comments() const noexcept { return m_comments; }

 private:
  template <class F>
  void process_line(F&& on_event) {
    std::string_view line = m_line;
    if (line.empty()) {
      if (m_has_field) {
        m_block.dispatch = !m_block.data.empty();
        if (m_block.dispatch) m_block.data.pop_back();
        on_event(static_cast<const Event&>(m_block));
      }
      m_block = Event();
      m_has_field = false;
      return;
    }
    if (line.front() == ':') {
      ++m_comments;
      return;
    }
    const auto colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    m_has_field = true;
    if (field == "data") {
      m_block.data.append(value);
      m_block.data += '\n';
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) m_block.id = std::string(value);
    } else if (field == "retry") {
      if (!value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos) {
        m_block.retry = std::strtoll(std::string(value).c_str(), nullptr, 10);
      }
    }
  }

  static constexpr unsigned char k_bom[3] = {0xEF, 0xBB, 0xBF};
  std::string m_line;
  int m_bom_state = 0;  // BOM bytes matched at the connection start; -1 once decided
  bool m_pending_cr = false;
  Event m_block;
  bool m_has_field = false;
  std::uint64_t m_comments = 0;
};

}  // namespace ssestitch::testkit
