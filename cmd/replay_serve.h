#pragma once
// `ssestitch replay STORE --serve ADDR`: serves recorded streams over HTTP as an SSE upstream,
// so a recording can stand in for the real server (for example behind a proxy under test).
// GET /streams/N (or any path with --stream N) streams the events with their `id: N-SEQ`;
// `Last-Event-ID: N-SEQ` resumes after that event; --rate paces, --drop-every N cuts the
// connection after N events on it; a stream the proxy still records is followed live, a
// finished one ends the response. Runs until SIGINT / SIGTERM.

#include "cmd/options.h"

namespace ssestitch::cmd {

int serve_recorded(const GlobalOptions& global, const ReplayOptions& options);

}  // namespace ssestitch::cmd
