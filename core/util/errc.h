#pragma once
// Error identities shared by every module (STYLE.md habit 10): a closed enum whose stable
// string names appear in logs, metrics and `--json` output. The human message travels beside
// it in util::Error; the identity never changes with the wording.

#include <string_view>

namespace ssestitch::util {

enum class Errc {
  invalid_argument,      // a caller passed a value outside the documented domain
  io_error,              // an OS call failed (the message names it and gives strerror)
  not_found,             // a looked-up object does not exist
  // sse
  sse_line_too_long,     // a line exceeded sse::Limits::max_line_bytes
  sse_event_too_large,   // an event exceeded sse::Limits::max_event_bytes
  // ids
  bad_event_id,          // an event id is not of the form <stream>-<seq>, or too long, or not visible ASCII
  bad_session_id,        // a session id is empty, too long, or has bytes outside 0x21..0x7E
  // store
  store_open_failed,     // the store directory or its files could not be opened or created
  store_not_a_store,     // the path holds something else (a file, another program's LMDB)
  store_version,         // the store was written by another format version
  store_corrupt,         // LMDB or a record failed validation
  store_locked,          // another running proxy owns this store
  store_full,            // the map is full even after eviction (--store-max)
  store_queue_full,      // the writer queue is at its bound; try again after the next commit
  store_closed,          // the store is shutting down
  store_unavailable,     // the store's server (Redis) cannot be reached or refused a command
  // mcp / json
  json_invalid,          // the body is not valid JSON
  not_jsonrpc,           // valid JSON, but not a JSON-RPC 2.0 message or batch
  // upstream
  upstream_unreachable,  // connect / DNS / TLS failure
  upstream_refused,      // connection refused: nothing listens, the request was not sent
  upstream_http,         // the upstream answered with an HTTP status we cannot use
  upstream_protocol,     // the upstream violated SSE or MCP framing
  timeout,               // a deadline expired
  internal,              // an invariant was violated (a bug); always logged
};

// The stable name of `e`, e.g. "store_full". Never empty.
std::string_view to_string(Errc e) noexcept;

}  // namespace ssestitch::util
