#include "core/proxy/store_loop.h"

#include <memory>

namespace ssestitch::proxy {
namespace {

class StoreWatch final : public store::LoopWatch {
 public:
  StoreWatch(net::EventLoop& loop, std::function<void(int)> ready)
      : m_watch(loop, [ready = std::move(ready)](bool read, bool write, bool late) {
          ready((read ? readable : 0) | (write ? writable : 0) | (late ? timed_out : 0));
        }) {}
  void arm(int fd, int events, int timeout_ms) override {
    m_watch.arm(fd, (events & readable) != 0, (events & writable) != 0, timeout_ms);
  }
  void disarm() override { m_watch.cancel(); }

 private:
  net::FdWatch m_watch;
};

}  // namespace

store::LoopWatchFactory store_loop_watches(net::EventLoop& loop) {
  return [&loop](std::function<void(int)> ready) -> std::unique_ptr<store::LoopWatch> {
    return std::make_unique<StoreWatch>(loop, std::move(ready));
  };
}

}  // namespace ssestitch::proxy
