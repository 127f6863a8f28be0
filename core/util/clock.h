#pragma once
// Time behind a seam (STYLE.md habit 15): modules that record arrival times or expire data by
// age take a `const Clock&`, so unit tests can drive time with ManualClock.

#include <atomic>
#include <cstdint>

namespace ssestitch::util {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time in milliseconds since the Unix epoch (for records people read).
  virtual std::int64_t wall_ms() const noexcept = 0;
  // Monotonic time in nanoseconds (for durations and deadlines); unrelated to wall time.
  virtual std::int64_t mono_ns() const noexcept = 0;
};

// The process clock (CLOCK_REALTIME / CLOCK_MONOTONIC). Thread-safe.
const Clock& system_clock() noexcept;

// A clock that moves only when told to; thread-safe. For unit tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t wall_ms = 1'700'000'000'000) : m_wall_ms(wall_ms) {}
  std::int64_t wall_ms() const noexcept override { return m_wall_ms.load(); }
  std::int64_t mono_ns() const noexcept override { return m_wall_ms.load() * 1'000'000; }
  void advance_ms(std::int64_t ms) noexcept { m_wall_ms.fetch_add(ms); }

 private:
  std::atomic<std::int64_t> m_wall_ms;
};

}  // namespace ssestitch::util
