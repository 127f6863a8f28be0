// store-check: opens a store read-only and verifies what store-writer wrote: per stream, the
// events are contiguous from the oldest retained seq to next_seq - 1, the cursor
// (upstream_last_id) is the last event's upstream id, and every event's id and data are exactly
// what store-writer writes for its seq (no torn event).
//
//   ssestitch-testkit store-check --store DIR [--follow-seconds S] [--expect-last N]
//
// Prints one JSON line, {"ok":true,"streams":1,"events":N,"last_seq":N} (plus "passes" with
// --follow-seconds), and exits 0; or prints the first inconsistency as
// {"ok":false,"error":"..."} and exits 1. --follow-seconds re-checks for S seconds (waiting for
// the store to appear) and also fails if last_seq ever decreases. --expect-last fails unless
// the final last_seq equals N.

#include <chrono>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>

#include "core/store/lmdb_store.h"
#include "core/util/log.h"
#include "core/util/text.h"
#include "tests/tools/store_payload.h"
#include "tests/tools/testkit.h"

namespace ssestitch::testkit {
namespace {

struct Summary {
  std::uint64_t streams = 0;
  std::uint64_t events = 0;
  std::uint64_t last_seq = 0;
};

// One pass over every stream; returns an error message, or "" when consistent.
std::string check_once(const store::SessionStore& st, Summary& out) {
  out = Summary{};
  auto streams = st.streams(std::nullopt);
  if (!streams) return "streams(): " + streams.error().message;
  std::string expect;
  for (const store::StreamRecord& rec : *streams) {
    ++out.streams;
    // The record was read before the events (a later snapshot), so every event up to
    // next_seq - 1 must be there; newer events may be too, and are not counted.
    const std::uint64_t last = rec.next_seq - 1;
    const std::string where = "stream " + std::to_string(rec.stream) + ": ";
    if (last > 0 && (!rec.has_upstream_id || rec.upstream_last_id != store_upstream_id(last))) {
      return where + "cursor \"" + rec.upstream_last_id + "\" but next_seq " + std::to_string(rec.next_seq);
    }
    std::uint64_t prev = 0;
    std::uint64_t seen = 0;
    std::string error;
    for (;;) {
      std::size_t in_range = 0;
      auto n = st.scan_events(rec.stream, prev, 10'000, std::numeric_limits<std::size_t>::max(),
                              [&](const store::EventView& ev) {
                                if (ev.seq > last) return false;
                                if (prev == 0) {
                                  const std::uint64_t first = rec.retained.evicted == 0 ? 1 : rec.retained.first_seq;
                                  if (ev.seq != first) {
                                    error = where + "first event is " + std::to_string(ev.seq) + ", expected " +
                                            std::to_string(first);
                                    return false;
                                  }
                                } else if (ev.seq != prev + 1) {
                                  error = where + "gap: " + std::to_string(prev) + " then " + std::to_string(ev.seq);
                                  return false;
                                }
                                store_payload(ev.seq, expect);
                                if (ev.upstream_id != store_upstream_id(ev.seq) || !ev.type.empty() ||
                                    ev.data != expect) {
                                  error = where + "event " + std::to_string(ev.seq) + " has wrong contents";
                                  return false;
                                }
                                prev = ev.seq;
                                ++seen;
                                ++in_range;
                                return true;
                              });
      if (!n) return where + "scan_events: " + n.error().message;
      if (!error.empty()) return error;
      if (in_range < 10'000 || prev == last) break;
    }
    if (prev != last) {
      return where + "events end at " + std::to_string(prev) + " but the cursor says " + std::to_string(last);
    }
    out.events += seen;
    out.last_seq = std::max(out.last_seq, last);
  }
  return "";
}

void print_result(const Summary& s, long long passes) {
  std::printf("{\"ok\":true,\"streams\":%llu,\"events\":%llu,\"last_seq\":%llu",
              static_cast<unsigned long long>(s.streams), static_cast<unsigned long long>(s.events),
              static_cast<unsigned long long>(s.last_seq));
  if (passes >= 0) std::printf(",\"passes\":%lld", passes);
  std::printf("}\n");
}

int fail(const std::string& error) {
  std::string line = "{\"ok\":false,\"error\":\"";
  util::json_escape_append(line, error);
  line += "\"}";
  std::printf("%s\n", line.c_str());
  return 1;
}

int store_check_main(const std::vector<std::string>& argv) {
  const Args args(argv);
  store::LmdbOptions o;
  o.dir = args.get("--store");
  o.read_only = true;
  const double follow = args.get_double("--follow-seconds", 0);
  const long long expect_last = args.get_int("--expect-last", -1);
  if (o.dir.empty()) {
    std::fprintf(stderr, "store-check: usage: --store DIR [--follow-seconds S] [--expect-last N]\n");
    return 2;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(follow);
  std::unique_ptr<store::LmdbStore> st;
  for (;;) {
    auto opened = store::LmdbStore::open(o);
    if (opened) {
      st = std::move(*opened);
      break;
    }
    // In follow mode the writer may not have created the store yet.
    if (follow <= 0 || opened.error().code != util::Errc::store_open_failed ||
        std::chrono::steady_clock::now() >= deadline) {
      return fail(std::string(util::to_string(opened.error().code)) + ": " + opened.error().message);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  Summary s;
  long long passes = 0;
  std::uint64_t last_seen = 0;
  do {
    if (std::string err = check_once(*st, s); !err.empty()) return fail(err);
    ++passes;
    if (s.last_seq < last_seen) {
      return fail("last_seq went back from " + std::to_string(last_seen) + " to " + std::to_string(s.last_seq));
    }
    last_seen = s.last_seq;
    if (follow > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (follow > 0 && std::chrono::steady_clock::now() < deadline);
  if (expect_last >= 0 && s.last_seq != static_cast<std::uint64_t>(expect_last)) {
    return fail("last_seq is " + std::to_string(s.last_seq) + ", expected " + std::to_string(expect_last));
  }
  print_result(s, follow > 0 ? passes : -1);
  return 0;
}

const Register k_register{"store-check", "verify a store written by store-writer (read-only; --follow-seconds)",
                          &store_check_main};

}  // namespace
}  // namespace ssestitch::testkit
