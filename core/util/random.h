#pragma once
// Randomness from the OS (getrandom), for ids that must not be guessable.

#include <cstdint>
#include <string>

namespace ssestitch::util {

// `bytes` random bytes from the kernel's CSPRNG as lower-case hex (2 * bytes characters).
// Blocks only before the kernel's pool is initialised at boot; aborts if getrandom fails,
// because a guessable session id is worse than no proxy.
std::string random_hex(std::size_t bytes);
// A 64-bit seed for non-security PRNGs (jitter): the next value of a per-thread SplitMix64
// seeded once from getrandom, so a stream open costs no syscall (it cost one getrandom each)
// and no two seeds of a process, nor two processes' sequences, are alike.
std::uint64_t random_seed();

// SplitMix64 (Steele, Lea, Flood 2014): a non-security PRNG in 8 bytes, for jitter, where one
// lives in every stream. A UniformRandomBitGenerator, so <random>'s distributions take it.
// (std::mt19937_64 holds 2.5 KB of state: 25 MB for 10,000 streams.)
class SplitMix64 {
 public:
  using result_type = std::uint64_t;
  explicit SplitMix64(std::uint64_t seed) noexcept : m_state(seed) {}
  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return ~result_type{0}; }
  result_type operator()() noexcept {
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t m_state;
};

}  // namespace ssestitch::util
