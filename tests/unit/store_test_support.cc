#include "tests/unit/store_test_support.h"

#include "core/net/event_loop.h"
#include "core/proxy/store_loop.h"

namespace ssestitch::test {

std::shared_ptr<net::EventLoop> make_store_loop() {
  auto loop = net::EventLoop::create();
  REQUIRE(loop);
  return std::shared_ptr<net::EventLoop>(std::move(*loop));
}

void attach_store_loop(store::SessionStore& s, net::EventLoop& loop) { s.attach_loop(proxy::store_loop_watches(loop)); }

}  // namespace ssestitch::test
