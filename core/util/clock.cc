#include "core/util/clock.h"

#include <ctime>

namespace ssestitch::util {
namespace {

class SystemClock final : public Clock {
 public:
  std::int64_t wall_ms() const noexcept override {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  }
  std::int64_t mono_ns() const noexcept override {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  }
};

}  // namespace

const Clock& system_clock() noexcept {
  static const SystemClock clock;
  return clock;
}

}  // namespace ssestitch::util
