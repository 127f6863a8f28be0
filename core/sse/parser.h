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
  std::string data;                    // `data` values joined with LF, trailing LF removed
  std::optional<std::string> id;       // last valid `id` in the block ("" = reset); nullopt if none
  std::optional<std::uint32_t> retry;  // last valid `retry` in the block (clamped to UINT32_MAX)
  bool dispatch = false;               // the data buffer was non-empty (a MessageEvent would fire)
  std::string_view raw;                // the block's lines as received, from its first field line
                                       // (comments after it included) through the blank line, each
                                       // line ending in LF whatever its original line end (so raw is
                                       // the same however the input was split); valid only during
                                       // the callback
};

class Parser {
 public:
  explicit Parser(Limits limits = {});

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
  util::Result<void> process_line(std::string_view line, util::FunctionRef<void(const Event&)> on_event);
  void dispatch_block(util::FunctionRef<void(const Event&)> on_event);
  util::Result<void> fail(util::Error error);

  Limits m_limits;
  std::string m_line;          // partial line carried across chunks
  std::string m_raw;           // raw bytes of the current block
  Event m_event;               // the block being built (data keeps its trailing LF until dispatch)
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
