#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <vector>

#include "core/net/event_loop.h"

using namespace ssestitch;

namespace {

std::unique_ptr<net::EventLoop> new_loop() {
  auto loop = net::EventLoop::create();
  REQUIRE(loop);
  return std::move(*loop);
}

}  // namespace

TEST_SUITE_BEGIN("net");

TEST_CASE("net::EventLoop::others_ready: true while another callback of the iteration waits, false for the last") {
  auto loop = new_loop();
  std::optional<bool> first_saw, second_saw;
  net::Trigger second(*loop, [&] {
    second_saw = loop->others_ready();
    loop->stop();
  });
  net::Trigger first(*loop, [&] { first_saw = loop->others_ready(); });
  net::Timer start(*loop, [&] {
    CHECK_FALSE(loop->others_ready());  // nothing else is due: a timer alone
    first.fire();
    second.fire();
  });
  net::Timer guard(*loop, [&] { loop->stop(); });  // a broken loop never hangs the test
  start.arm_ms(0);
  guard.arm_ms(10'000);
  loop->run();
  REQUIRE(first_saw);
  REQUIRE(second_saw);
  CHECK(*first_saw);
  CHECK_FALSE(*second_saw);
}

TEST_CASE("net::EventLoop::others_ready: sockets ready together see each other") {
  auto loop = new_loop();
  int a[2], b[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
  std::vector<bool> saw;
  auto on_ready = [&](bool, bool, bool) {
    saw.push_back(loop->others_ready());
    if (saw.size() == 2) loop->stop();
  };
  net::FdWatch wa(*loop, on_ready), wb(*loop, on_ready);
  wa.arm(a[0], true, false, 10'000);
  wb.arm(b[0], true, false, 10'000);
  // Both become readable before the loop looks: one epoll_wait reports them together.
  REQUIRE(::write(a[1], "x", 1) == 1);
  REQUIRE(::write(b[1], "y", 1) == 1);
  loop->run();
  wa.cancel();
  wb.cancel();
  for (int fd : {a[0], a[1], b[0], b[1]}) ::close(fd);
  REQUIRE(saw.size() == 2);
  CHECK(saw[0]);
  CHECK_FALSE(saw[1]);
}

TEST_SUITE_END();
