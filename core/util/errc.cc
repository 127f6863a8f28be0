#include "core/util/errc.h"

namespace ssestitch::util {

std::string_view to_string(Errc e) noexcept {
  switch (e) {
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::io_error: return "io_error";
    case Errc::not_found: return "not_found";
    case Errc::sse_line_too_long: return "sse_line_too_long";
    case Errc::sse_event_too_large: return "sse_event_too_large";
    case Errc::bad_event_id: return "bad_event_id";
    case Errc::bad_session_id: return "bad_session_id";
    case Errc::store_open_failed: return "store_open_failed";
    case Errc::store_not_a_store: return "store_not_a_store";
    case Errc::store_version: return "store_version";
    case Errc::store_corrupt: return "store_corrupt";
    case Errc::store_locked: return "store_locked";
    case Errc::store_full: return "store_full";
    case Errc::store_queue_full: return "store_queue_full";
    case Errc::store_closed: return "store_closed";
    case Errc::store_unavailable: return "store_unavailable";
    case Errc::json_invalid: return "json_invalid";
    case Errc::not_jsonrpc: return "not_jsonrpc";
    case Errc::upstream_unreachable: return "upstream_unreachable";
    case Errc::upstream_refused: return "upstream_refused";
    case Errc::upstream_http: return "upstream_http";
    case Errc::upstream_protocol: return "upstream_protocol";
    case Errc::timeout: return "timeout";
    case Errc::internal: return "internal";
  }
  return "internal";
}

}  // namespace ssestitch::util
