#pragma once
// EventLoop: the one libevent event_base of the process, created with a precise timer
// (CLOCK_MONOTONIC instead of the 4 ms coarse clock; see deps notes §3), the epoll changelist
// (a watch added and removed in one iteration costs no syscall) and a bound of 64 callbacks
// between looks at I/O (an endlessly re-fired Trigger cannot starve sockets), plus the small
// primitives every loop user needs: Timer, Trigger (run a callback once, later in this loop
// iteration), cross-thread post(), and signal watching.
//
// Threads: everything here belongs to the loop thread except EventLoop::post(), which any
// thread may call (the store's writer thread posts commit notifications).
// libevent types are only forward-declared: including this header does not pull in libevent.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/util/result.h"
#include "core/util/unique_fd.h"

struct event_base;
struct event;

namespace ssestitch::net {

struct EventBaseDeleter {
  void operator()(event_base* b) const noexcept;
};
struct EventDeleter {
  void operator()(::event* e) const noexcept;  // (qualified: a test's event() helper may be visible)
};
using EventBasePtr = std::unique_ptr<event_base, EventBaseDeleter>;
using EventPtr = std::unique_ptr<::event, EventDeleter>;

class EventLoop {
 public:
  // Creates the base (precise timer, epoll changelist, 64 callbacks per dispatch) and the
  // cross-thread wake-up (eventfd).
  static util::Result<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  event_base* base() const noexcept { return m_base.get(); }
  // Runs until stop() or until no events are left. Records the calling thread as the loop thread.
  void run();
  // Makes run() return after the current callback (loop thread only).
  void stop();
  // Runs `fn` on the loop thread soon, in posting order. Thread-safe; never blocks on the loop.
  void post(std::function<void()> fn);
  bool in_loop_thread() const noexcept { return std::this_thread::get_id() == m_thread; }
  // Whether other callbacks are due in this loop iteration (ready sockets not handled yet, a
  // fired Trigger): a callback that could do work now or leave it to a Trigger asks this to
  // batch with what is already waiting. libevent takes a callback's event off the active
  // queue before calling it, so the caller does not count itself.
  bool others_ready() const noexcept;

 private:
  EventLoop() = default;
  static void on_wakeup(int fd, short what, void* arg) noexcept;

  EventBasePtr m_base;
  util::UniqueFd m_wakeup_fd;  // eventfd: post() wakes the loop through it
  EventPtr m_wakeup_event;
  std::mutex m_mutex;
  std::vector<std::function<void()>> m_posted;  // guarded by m_mutex
  std::thread::id m_thread = std::this_thread::get_id();
};

// A one-shot timer on the loop. Re-arming replaces the previous deadline. Its libevent event is
// allocated when first armed: most of a stream's timers (reconnect, linger) never are, and an
// idle stream should not pay ~140 bytes for each (bench --scenarios idle).
class Timer {
 public:
  Timer(EventLoop& loop, std::function<void()> fn);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void arm_ms(std::int64_t ms);
  void arm_us(std::int64_t us);  // microsecond resolution: the loop uses precise timers
  void cancel();
  bool armed() const;

 private:
  static void on_fire(int fd, short what, void* arg) noexcept;
  event_base* m_base;
  EventPtr m_event;  // null until first armed
  std::function<void()> m_fn;
};

// Watches one file descriptor once: fn(read, write, timed_out) runs on the loop thread when the
// descriptor is ready for what was asked or `timeout_ms` passed (0: no timeout). Arming again
// replaces the request; the proxy hands these to the store (proxy/store_loop.h).
class FdWatch {
 public:
  FdWatch(EventLoop& loop, std::function<void(bool read, bool write, bool timed_out)> fn);
  ~FdWatch();
  FdWatch(const FdWatch&) = delete;
  FdWatch& operator=(const FdWatch&) = delete;

  void arm(int fd, bool read, bool write, int timeout_ms);
  void cancel();

 private:
  static void on_ready(int fd, short what, void* arg) noexcept;
  event_base* m_base;
  EventPtr m_event;
  int m_fd = -1;
  short m_what = 0;
  std::function<void(bool, bool, bool)> m_fn;
};

// Runs a callback once, later in the current loop iteration (after the callbacks already
// active), however many times fire() was called before it ran. Used to coalesce work such as
// submitting one store batch for all events parsed in one iteration. Like Timer, its event is
// allocated on the first fire().
class Trigger {
 public:
  Trigger(EventLoop& loop, std::function<void()> fn);
  ~Trigger();
  Trigger(const Trigger&) = delete;
  Trigger& operator=(const Trigger&) = delete;
  void fire();

 private:
  static void on_fire(int fd, short what, void* arg) noexcept;
  event_base* m_base;
  EventPtr m_event;  // null until first fired
  std::function<void()> m_fn;
  bool m_pending = false;
};

// Calls `fn(signo)` on the loop thread when one of `signals` arrives. Also ignores SIGPIPE
// for the process (libevent writes with writev, without MSG_NOSIGNAL). Once the watcher is
// gone its signals stay ignored, with no moment at their default action in between: the
// shutdown that follows must not die of a second SIGTERM (`timeout` sends one to the process
// and one to its group; a burst of them killed the proxy with 143 in 15 runs out of 20).
class SignalWatcher {
 public:
  SignalWatcher(EventLoop& loop, std::vector<int> signals, std::function<void(int)> fn);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  static void on_signal(int fd, short what, void* arg) noexcept;
  std::vector<EventPtr> m_events;
  std::function<void(int)> m_fn;
};

}  // namespace ssestitch::net
