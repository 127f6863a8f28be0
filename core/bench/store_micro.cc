#include "core/bench/store_micro.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <vector>

#include "core/store/lmdb_store.h"
#include "core/util/clock.h"

namespace ssestitch::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

util::Result<std::unique_ptr<store::LmdbStore>> fresh_store(const std::string& dir, store::SyncMode sync) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    return util::fail(util::Errc::invalid_argument, dir + ": exists; the benchmark needs a fresh directory");
  }
  store::LmdbOptions o;
  o.dir = dir;
  o.sync = sync;
  // submit() consumes a batch it refuses, so the benchmark never lets the queue fill up.
  o.queue_max_bytes = std::numeric_limits<std::size_t>::max() / 2;
  return store::LmdbStore::open(o);
}

std::vector<store::Batch> make_batches(std::uint64_t stream, std::size_t events, std::size_t payload_bytes,
                                       std::size_t batch_size) {
  std::vector<store::Batch> out;
  const std::string data(payload_bytes, 'x');
  // Now, not a constant: default retention would expire events older than a day as written.
  const std::int64_t now = util::system_clock().wall_ms();
  for (std::size_t first = 1; first <= events; first += batch_size) {
    const std::size_t last = std::min(first + batch_size - 1, events);
    store::Batch b;
    b.events.reserve(last - first + 1);
    for (std::size_t q = first; q <= last; ++q) {
      b.events.push_back(store::EventRecord{stream, q, std::to_string(q), "", data, now});
    }
    store::StreamRecord rec;
    rec.stream = stream;
    rec.upstream_last_id = std::to_string(last);
    rec.has_upstream_id = true;
    rec.next_seq = last + 1;
    b.streams.push_back(std::move(rec));
    out.push_back(std::move(b));
  }
  return out;
}

// Submits every batch and flushes.
util::Result<void> submit_all(store::SessionStore& st, std::vector<store::Batch>& batches) {
  for (store::Batch& b : batches) {
    if (auto r = st.submit(std::move(b), nullptr); !r) return r;
  }
  return st.flush();
}

}  // namespace

util::Result<double> append_rate(const std::string& dir, store::SyncMode sync, std::size_t events,
                                 std::size_t payload_bytes, std::size_t batch_size) {
  if (events == 0 || batch_size == 0) {
    return util::fail(util::Errc::invalid_argument, "append_rate: events and batch_size must be >= 1");
  }
  auto st = fresh_store(dir, sync);
  if (!st) return std::move(st).error();
  const std::uint64_t stream = (*st)->allocate_stream_number();
  std::vector<store::Batch> batches = make_batches(stream, events, payload_bytes, batch_size);
  const auto t0 = SteadyClock::now();
  if (auto r = submit_all(**st, batches); !r) return std::move(r).error();
  const double s = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  return static_cast<double>(events) / s;
}

util::Result<double> replay_time(const std::string& dir, std::size_t events_backlog, std::uint64_t after_seq) {
  if (events_backlog == 0) return util::fail(util::Errc::invalid_argument, "replay_time: empty backlog");
  auto st = fresh_store(dir, store::SyncMode::none);
  if (!st) return std::move(st).error();
  const std::uint64_t stream = (*st)->allocate_stream_number();
  std::vector<store::Batch> batches = make_batches(stream, events_backlog, 256, 1000);
  if (auto r = submit_all(**st, batches); !r) return std::move(r).error();

  std::string out;
  out.reserve(4u << 20);
  auto frame = [&](const store::EventView& ev) {
    char num[24];
    out += "id: ";
    out.append(num, std::to_chars(num, num + sizeof num, ev.stream).ptr);
    out += '-';
    out.append(num, std::to_chars(num, num + sizeof num, ev.seq).ptr);
    out += "\ndata: ";
    out.append(ev.data);
    out += "\n\n";
    return true;
  };
  std::vector<double> us;
  for (int run = 0; run < 8; ++run) {
    out.clear();
    const auto t0 = SteadyClock::now();
    auto n = (*st)->scan_events(stream, after_seq, 10'000, std::numeric_limits<std::size_t>::max(), frame);
    const double t = std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count();
    if (!n) return std::move(n).error();
    if (run > 0) us.push_back(t);
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

}  // namespace ssestitch::bench
