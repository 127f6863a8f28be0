#pragma once
// Generator: the SSE upstream of `ssestitch bench`, inside the binary (no other tools needed).
// An HTTP server on 127.0.0.1 (port chosen by the OS) running its own event loop thread.
//
// GET /stream?n=N&size=B&mode=bulk|write|paced&rate=R&drop=K&idle=1 answers text/event-stream
// (chunked) with events `id: K` / `data: {"k":K,"t":MONO_NS,"p":"xx.."}` padded to about B bytes
// of data, K = 1..N, then a clean end. `Last-Event-ID: K` continues at K+1 (the stream is a pure
// function of K, so any generator resumes any stream). Modes:
//   bulk   as fast as possible, events packed into 16 KiB writes;
//   write  one write per event (the next after the previous one left user space);
//   paced  R events/s, each written on its own when it falls due (latency runs; as peer-bench's
//          sse-gen, so that the latency of one event does not include its batch's).
// drop=K cuts the connection (no chunked terminator) after K events on it; idle=1 sends the
// headers and then nothing (for held-connection runs). `t` is CLOCK_MONOTONIC at the write, so
// a sink in the same process measures latency without clock skew (util::system_clock().mono_ns()).

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/util/result.h"

namespace ssestitch::bench {

class Generator {
 public:
  static util::Result<std::unique_ptr<Generator>> start();
  ~Generator();  // stops the thread, closes every connection
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  std::uint16_t port() const noexcept;
  std::uint64_t events_sent() const noexcept;       // by responses that have ended
  std::uint64_t streams_finished() const noexcept;  // responses that reached their n-th event

  struct Impl;

 private:
  explicit Generator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ssestitch::bench
