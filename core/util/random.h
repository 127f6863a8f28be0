#pragma once
// Randomness from the OS (getrandom), for ids that must not be guessable.

#include <cstdint>
#include <string>

namespace ssestitch::util {

// `bytes` random bytes from the kernel's CSPRNG as lower-case hex (2 * bytes characters).
// Blocks only before the kernel's pool is initialised at boot; aborts if getrandom fails,
// because a guessable session id is worse than no proxy.
std::string random_hex(std::size_t bytes);
// A 64-bit seed for non-security PRNGs (jitter).
std::uint64_t random_seed();

}  // namespace ssestitch::util
