#pragma once
// `ssestitch replay STORE|TAPE --session ID --serve HOST:PORT`: the recorded server of one
// session (core/tape/script.h) served at /mcp as a deterministic stand-in for the real one, for
// CI: record against the real server once, commit the tape, test against it offline.
//
//   POST initialize       the recorded answer, with a fresh Mcp-Session-Id;
//   POST a request        the next unused recorded exchange with the same method and params
//                         (tape::match_key): its JSON answer, or its SSE answer re-sent event by
//                         event at the recorded pace divided by --speed (0: at once), the
//                         response's id and progress tokens mapped to this request's, each
//                         event with an id "<answer>-<k>"; nothing recorded: a JSON-RPC error
//                         (-32601) naming what was not recorded;
//   POST notifications / responses (e.g. to a sampling request): 202;
//   GET + Last-Event-ID   the rest of that answer, exactly once; GET without: 405;
//   DELETE                200.
// At SIGINT/SIGTERM, or when --exit-after N requests have been answered, it prints on stderr
// what matched and what did not, and exits 0 only if every request matched (1 otherwise).

#include "cmd/options.h"

namespace ssestitch::cmd {

int serve_mock(const GlobalOptions& global, const ReplayOptions& options);

}  // namespace ssestitch::cmd
