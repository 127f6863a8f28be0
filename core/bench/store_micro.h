#pragma once
// Micro-benchmarks of the embedded store (`ssestitch-testkit store-bench` prints them; the
// issue's targets: >= 500,000 appended 256-byte events/s with SyncMode::none, and a 10,000-event
// replay after a seq in under 5 ms). They are measurements, never pass/fail tests.

#include <cstdint>
#include <string>

#include "core/store/session_store.h"
#include "core/util/result.h"

namespace ssestitch::bench {

// Creates an LmdbStore in `dir` (which must not exist yet) and appends `events` events with
// `payload_bytes` of data to one stream, in batches of `batch_size` events that each carry the
// stream record they advance. Returns events per second from the first submit until flush()
// returned (so the last commit and, for always / batch, its fsync are included). The batches are
// built before the clock starts: the figure is the store's, not the caller's allocations.
// Errors: invalid_argument (dir exists, a zero size), or the store's own errors.
util::Result<double> append_rate(const std::string& dir, store::SyncMode sync, std::size_t events,
                                 std::size_t payload_bytes, std::size_t batch_size);

// Creates an LmdbStore in `dir` (which must not exist yet) holding `events_backlog` 256-byte
// events of one stream, then times scan_events of up to 10,000 events after `after_seq`, each
// event copied into an output buffer as an SSE frame ("id: <stream>-<seq>", data) the way a
// resuming client's replay is written. Returns the median of 7 scans in microseconds (the first
// warms the page cache and is not counted).
util::Result<double> replay_time(const std::string& dir, std::size_t events_backlog, std::uint64_t after_seq);

}  // namespace ssestitch::bench
