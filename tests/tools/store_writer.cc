// store-writer: appends events 1..N of one stream to an LmdbStore, each batch carrying the
// stream record whose cursor it advances. Used by the crash and concurrency scripts: it can be
// SIGKILLed at any point and restarted, and resumes from the stored next_seq.
//
//   ssestitch-testkit store-writer --store DIR --events N [--batch K] [--sync none|batch|always]
//                                  [--pause-us U] [--initial-map-mib M]
//
// Exit 0 when every event up to N is committed, 1 on any store error, 2 on bad arguments.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/store/lmdb_store.h"
#include "core/util/clock.h"
#include "tests/tools/store_payload.h"
#include "tests/tools/testkit.h"

namespace ssestitch::testkit {
namespace {

int store_writer_main(const std::vector<std::string>& argv) {
  const Args args(argv);
  store::LmdbOptions o;
  o.dir = args.get("--store");
  const long long events = args.get_int("--events", 0);
  const long long batch = args.get_int("--batch", 64);
  const long long pause_us = args.get_int("--pause-us", 0);
  const long long map_mib = args.get_int("--initial-map-mib", 64);
  auto sync = store::parse_sync_mode(args.get("--sync", "none"));
  if (o.dir.empty() || events <= 0 || batch <= 0 || map_mib <= 0 || !sync) {
    std::fprintf(stderr, "store-writer: usage: --store DIR --events N [--batch K] [--sync none|batch|always] "
                         "[--pause-us U] [--initial-map-mib M]\n");
    return 2;
  }
  o.sync = *sync;
  o.initial_map_bytes = static_cast<std::uint64_t>(map_mib) << 20;
  o.retention.max_events_per_stream = 0;  // store-check verifies every event from seq 1
  o.retention.max_bytes_per_stream = 0;
  o.retention.max_age_ms = 0;
  o.retention.idle_ttl_ms = 0;
  o.retention.store_max_bytes = 8ULL << 30;
  auto opened = store::LmdbStore::open(o);
  if (!opened) {
    std::fprintf(stderr, "store-writer: %s: %s\n", std::string(util::to_string(opened.error().code)).c_str(),
                 opened.error().message.c_str());
    return 1;
  }
  store::LmdbStore& st = **opened;

  auto existing = st.streams(std::nullopt);
  if (!existing) {
    std::fprintf(stderr, "store-writer: %s\n", existing.error().message.c_str());
    return 1;
  }
  const std::uint64_t stream = existing->empty() ? st.allocate_stream_number() : existing->front().stream;
  std::uint64_t next = existing->empty() ? 1 : existing->front().next_seq;
  const auto target = static_cast<std::uint64_t>(events);
  std::fprintf(stderr, "store-writer: stream %llu: writing seq %llu..%llu (sync %s, batch %lld)\n",
               static_cast<unsigned long long>(stream), static_cast<unsigned long long>(next),
               static_cast<unsigned long long>(target), std::string(store::to_string(o.sync)).c_str(), batch);

  std::atomic<int> errors{0};
  std::atomic<std::uint64_t> committed_to{next - 1};
  const util::Clock& clock = util::system_clock();
  const std::int64_t created = clock.wall_ms();
  const std::uint64_t progress_every = std::max<std::uint64_t>(target / 10, 1);
  std::uint64_t next_progress = next + progress_every;
  std::string data;
  while (next <= target) {
    const std::uint64_t last = std::min(next + static_cast<std::uint64_t>(batch) - 1, target);
    store::Batch b;
    b.events.reserve(last - next + 1);
    const std::int64_t now = clock.wall_ms();
    for (std::uint64_t q = next; q <= last; ++q) {
      store_payload(q, data);
      b.events.push_back(store::EventRecord{stream, q, store_upstream_id(q), "", data, now});
    }
    store::StreamRecord rec;
    rec.stream = stream;
    rec.kind = store::StreamKind::generic;
    rec.target = "/store-writer";
    rec.upstream_last_id = store_upstream_id(last);
    rec.has_upstream_id = true;
    rec.next_seq = last + 1;
    rec.created_ms = created;
    rec.last_active_ms = now;
    b.streams.push_back(std::move(rec));
    auto done = [&errors, &committed_to, last](const util::Result<store::CommitInfo>& r) {
      if (r) {
        committed_to.store(last);
      } else {
        ++errors;
        std::fprintf(stderr, "store-writer: commit failed: %s\n", r.error().message.c_str());
      }
    };
    for (;;) {
      auto r = st.submit(b, done);
      if (r) break;
      if (r.error().code != util::Errc::store_queue_full) {
        std::fprintf(stderr, "store-writer: submit: %s\n", r.error().message.c_str());
        return 1;
      }
      (void)st.flush();
    }
    next = last + 1;
    if (next >= next_progress) {
      std::fprintf(stderr, "store-writer: submitted up to %llu (committed %llu)\n",
                   static_cast<unsigned long long>(last), static_cast<unsigned long long>(committed_to.load()));
      next_progress = next + progress_every;
    }
    if (pause_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
  }
  if (auto f = st.flush(); !f) {
    std::fprintf(stderr, "store-writer: flush: %s\n", f.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "store-writer: done, committed up to %llu\n",
               static_cast<unsigned long long>(committed_to.load()));
  return errors.load() == 0 ? 0 : 1;
}

const Register k_register{"store-writer", "append events 1..N of one stream to a store (resumes after a crash)",
                          &store_writer_main};

}  // namespace
}  // namespace ssestitch::testkit
