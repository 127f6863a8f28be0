#pragma once
// The proxy's loop as a store sees it (store/loop_watch.h): a factory of net::FdWatch-backed
// watches. Proxy::create attaches it to the store, so a RedisStore commits from the loop thread
// without waking its writer thread (redis_writer.h, "Commits on the loop"); the proxy detaches
// it before the loop goes away.

#include "core/net/event_loop.h"
#include "core/store/loop_watch.h"

namespace ssestitch::proxy {

store::LoopWatchFactory store_loop_watches(net::EventLoop& loop);

}  // namespace ssestitch::proxy
