#pragma once
// Outbox: a stream's events formatted for its client (with our ids), in seq order, that wait for
// their commit. Private to core/proxy (stream.h owns one, stream_relay.h drains it).
//
// The problem: every event is formatted once when it arrives and written once its commit is
// acknowledged; between the two it waits here, and a commit releases a run of events at once.
// The approach: one buffer for all of them and, per event, its seq and where it ends; a commit
// hands the relay the run it released as one view (one write to the client), and the buffer
// drops what was released when that is most of it. Rejected: a string per event (measured
// 2026-12-07, peer-bench thr1 on Redis: the per-event allocations and the concatenation into
// one write were a tenth of the loop thread's samples). The ends live in a vector read from
// m_first on, not a std::deque: libstdc++'s deque allocates 576 bytes when constructed, which
// every idle stream paid (heaptrack, bench --scenarios idle).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ssestitch::proxy {

class Outbox {
 public:
  // The buffer to format event `seq` into (append only), then end_event(seq).
  std::string& buffer() noexcept { return m_bytes; }
  void end_event(std::uint64_t seq) { m_ends.push_back({seq, m_bytes.size()}); }

  bool empty() const noexcept { return m_first == m_ends.size(); }
  void clear() noexcept;

  struct Released {
    std::size_t count = 0;      // events written
    std::uint64_t last_seq = 0; // the newest of them (0: none)
  };
  // Removes the events with seq <= upto_seq; those of them with seq > after_seq go to
  // `write(std::string_view)` in one call.
  template <class Write>
  Released release(std::uint64_t upto_seq, std::uint64_t after_seq, Write&& write) {
    const Run run = take(upto_seq, after_seq);
    if (run.to > run.from) write(std::string_view(m_bytes).substr(run.from, run.to - run.from));
    settle();
    return run.released;
  }

 private:
  struct End {
    std::uint64_t seq;
    std::size_t end;  // offset in m_bytes just past the event
  };
  struct Run {
    std::size_t from = 0, to = 0;  // the bytes to write
    Released released;
  };
  Run take(std::uint64_t upto_seq, std::uint64_t after_seq);
  // Drops released bytes: all of them (and a large buffer) once nothing waits, else when they
  // are most of the buffer (each byte moves at most once more).
  void settle() noexcept;
  static constexpr std::size_t k_keep_capacity = 64 * 1024;  // an idle stream keeps no more
  static constexpr std::size_t k_keep_ends = 1024;
  std::string m_bytes;           // the events from m_head on; before it, released ones
  std::size_t m_head = 0;
  std::vector<End> m_ends;       // waiting events from m_first on; before it, released ones
  std::size_t m_first = 0;
};

}  // namespace ssestitch::proxy
