#pragma once
// Generator: the SSE upstream of `ssestitch bench`, inside the binary (no other tools needed).
// It runs in a child process forked by start(), as peer-bench's sse-gen runs apart from its
// sink: in one process the sink's wake-ups are cheaper, and the direct paced p50 fell from
// 14.5 us to 7 us here, which no proxy could match. Its I/O is sse-gen's, so that bench's
// direct and through-nginx figures agree with peer-bench: a thread per streaming connection and
// blocking send(), one chunk per send. One epoll thread accepts connections and reads their
// first request, so that thousands of connections opened at once do not wait for threads.
//
// GET /stream?n=N&size=B&mode=bulk|write|paced&rate=R&drop=K&idle=1 answers text/event-stream
// (chunked; close-delimited to HTTP/1.0) with events `id: K` / `data: {"k":K,"t":MONO_NS,"p":"xx.."}`
// padded to about B bytes of data, K = 1..N, then a clean end. `Last-Event-ID: K` continues at
// K+1 (the stream is a pure function of K, so any generator resumes any stream). Modes:
//   bulk   as fast as possible, events packed into 16 KiB sends;
//   write  one send per event;
//   paced  R events/s, each sent on its own when it falls due (a late one does not wait for the
//          next).
// drop=K cuts the connection (no chunked terminator) after K events on it; idle=1 sends the
// headers and then nothing (held-connection runs; those connections stay on the epoll
// thread). `t` is CLOCK_MONOTONIC at formatting, so the sink measures latency without clock
// skew. Other methods get 405.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/util/result.h"

namespace ssestitch::bench {

class Generator {
 public:
  // Binds 127.0.0.1 on a port the OS chose and forks the server. Call it before the process
  // starts threads (the child is a copy of it). The child ends with its parent.
  static util::Result<std::unique_ptr<Generator>> start();
  ~Generator();  // kills and reaps the child
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  std::uint16_t port() const noexcept { return m_port; }
  // Responses that reached their n-th event, counted by the child.
  std::uint64_t streams_finished() const noexcept;

 private:
  struct Shared {
    std::atomic<std::uint64_t> finished{0};
  };
  Generator(pid_t pid, std::uint16_t port, Shared* shared) : m_pid(pid), m_port(port), m_shared(shared) {}

  pid_t m_pid = -1;
  std::uint16_t m_port = 0;
  Shared* m_shared = nullptr;  // a MAP_SHARED page, written by the child
};

}  // namespace ssestitch::bench
