#pragma once
// sse::Parser: an incremental parser for the WHATWG `text/event-stream` format
// (HTML Living Standard, "Server-sent events", §9.2.5 "Parsing an event stream" and §9.2.6
// "Interpreting an event stream").
//
// Bytes arrive in arbitrary splits; feeding a stream one byte at a time yields exactly the same
// events as feeding it whole. Rules implemented:
//   - one UTF-8 BOM (EF BB BF) at the very start of the stream is skipped, even when split;
//   - lines end with CRLF, LF or CR, including a CR at the end of one chunk whose LF starts the
//     next chunk (that pair is one line end, not two);
//   - a line starting with ':' is a comment (counted, not reported);
//   - "field:value" with one leading space of the value removed; a line without ':' is a field
//     with an empty value; unknown fields are ignored;
//   - `data` appends value + LF to the data buffer; `event` sets the type; `id` sets the last
//     event id unless the value contains NUL (then the field is ignored), and an empty `id`
//     resets it; `retry` is honoured only when the value is ASCII digits (else ignored);
//   - a blank line ends the block. The block is reported when it had at least one field line
//     (comments alone report nothing). `dispatch` is true when the data buffer was non-empty, as a
//     browser would fire a MessageEvent; `data` then has its trailing LF removed. A block with
//     only `id`/`retry` (dispatch false) is still reported so that cursors can advance.
//   - an incomplete block at end of stream is discarded (reset() or a new Parser).
// Framing in place: a block's data is a view. When the block has one data line and that line
// lies in the bytes of the current feed() (the common case: one event per line of data, read in
// one piece), the view points into those bytes and nothing is copied; otherwise the lines are
// joined in the parser's buffer. A block still open when feed() returns has its data copied out
// first, since the bytes go away. The raw block (Event::raw) costs a copy of every line; parsers
// whose users do not read it are made with Raw::drop (the proxy's upstream streams). Measured
// (`ssestitch bench --micro`, sse_parse: 256-byte events fed in 16 KiB pieces, 3 interleaved
// runs): 1,018-1,702 MB/s copying each line twice (raw and data) -> 1,254-1,934 MB/s.
//
// Limits: a line longer than Limits::max_line_bytes or a block whose raw bytes exceed
// Limits::max_event_bytes is an error value (sse_line_too_long / sse_event_too_large); the
// parser never buffers more than those bounds plus one input chunk. After an error the parser is
// poisoned: every later feed() returns the same error until reset().

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/util/function_ref.h"
#include "core/util/result.h"

namespace ssestitch::sse {

struct Limits {
  std::size_t max_line_bytes = 16u << 20;   // bytes of one line, without its line end
  std::size_t max_event_bytes = 16u << 20;  // raw bytes of one block, line ends included
};

// One block of fields, reported at the blank line that ends it.
struct Event {
  std::string type;                    // last `event` value in the block; empty means "message"
  std::string_view data;               // `data` values joined with LF, trailing LF removed; valid
                                       // only during the callback
  std::optional<std::string> id;       // last valid `id` in the block ("" = reset); nullopt if none
  std::optional<std::uint32_t> retry;  // last valid `retry` in the block (clamped to UINT32_MAX)
  bool dispatch = false;               // the data buffer was non-empty (a MessageEvent would fire)
  std::string_view raw;                // the block's lines as received, from its first field line
                                       // (comments after it included) through the blank line, each
                                       // line ending in LF whatever its original line end (so raw is
                                       // the same however the input was split); valid only during
                                       // the callback; empty with Raw::drop
};

// Whether the parser keeps each block's raw lines for Event::raw.
enum class Raw { keep, drop };

class Parser {
 public:
  explicit Parser(Limits limits = {}, Raw raw = Raw::keep);

  // Parses `bytes`, calling `on_event` for each completed block, in order. Returns an error
  // (and poisons the parser) when a limit is exceeded; events completed before the offending
  // line have already been reported.
  util::Result<void> feed(std::string_view bytes, util::FunctionRef<void(const Event&)> on_event);

  // Forgets any partial line or block and the poisoned state, and expects a BOM again: call it
  // when a new connection starts. The last event id survives, as in the WHATWG EventSource.
  void reset();

  // The last event id buffer after the blocks reported so far ("" if none or reset).
  const std::string& last_event_id() const noexcept { return m_last_event_id; }
  // Number of comment lines seen since construction (keepalives, for cadence checks).
  std::uint64_t comment_count() const noexcept { return m_comments; }
  // Total bytes fed since construction.
  std::uint64_t bytes_fed() const noexcept { return m_bytes_fed; }

 private:
  util::Result<void> scan(std::string_view bytes, util::FunctionRef<void(const Event&)> on_event);
  util::Result<void> scan_lines(std::string_view bytes, util::FunctionRef<void(const Event&)> on_event);
  // `in_input`: `line` lies in the bytes being fed (not in m_line).
  util::Result<void> process_line(std::string_view line, bool in_input,
                                  util::FunctionRef<void(const Event&)> on_event);
  // Copies a data view into m_data (the bytes it points into are about to go).
  void own_data();
  void dispatch_block(util::FunctionRef<void(const Event&)> on_event);
  util::Result<void> fail(util::Error error);

  Limits m_limits;
  bool m_keep_raw;
  std::string m_line;          // partial line carried across chunks
  std::string m_raw;           // raw bytes of the current block (Raw::keep)
  std::size_t m_block_bytes = 0;  // raw bytes of the current block, counted either way
  std::string m_data;          // the block's data lines, each with its LF, unless m_data_view
  std::string_view m_data_view;   // the block's one data line, in the bytes being fed
  bool m_data_in_view = false;
  Event m_event;               // the block being built (data is set at dispatch)
  bool m_block_has_field = false;
  bool m_pending_cr = false;   // previous chunk ended with CR: skip one LF at the next start
  int m_bom_state = 0;         // bytes of the BOM matched so far; -1 once the BOM check is over
  std::string m_id_buffer;     // WHATWG "last event ID buffer" (set by id fields)
  std::string m_last_event_id; // the buffer's value at the last block end
  std::optional<util::Error> m_poison;
  std::uint64_t m_comments = 0;
  std::uint64_t m_bytes_fed = 0;
};

}  // namespace ssestitch::sse
