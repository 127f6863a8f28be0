#pragma once
// What every part of the proxy shares. Owned by proxy::Proxy; all of it lives on the loop
// thread (the store's writer thread only reaches us through CommitPipeline's posts).

namespace ssestitch::net {
class EventLoop;
class UpstreamClient;
}  // namespace ssestitch::net
namespace ssestitch::store {
class SessionStore;
}
namespace ssestitch::tracker {
class EventTracker;
}
namespace ssestitch::util {
class Clock;
}

namespace ssestitch::proxy {

struct Config;
struct Metrics;
class CommitPipeline;
class SessionTable;
class Registry;
class Reinitializer;
class RetryPolicy;
class Observers;

struct Context {
  const Config* config = nullptr;
  // All time the proxy reads (backoff, idle detection, linger, keepalive, record timestamps):
  // the system clock in the proxy, a ManualClock in unit tests.
  const util::Clock* clock = nullptr;
  net::EventLoop* loop = nullptr;
  net::UpstreamClient* upstream = nullptr;
  store::SessionStore* store = nullptr;
  tracker::EventTracker* tracker = nullptr;
  Metrics* metrics = nullptr;
  CommitPipeline* pipeline = nullptr;
  SessionTable* sessions = nullptr;
  Registry* registry = nullptr;
  Reinitializer* reinit = nullptr;
  RetryPolicy* retry = nullptr;
  Observers* observers = nullptr;  // proxy/message_observer.h
};

}  // namespace ssestitch::proxy
