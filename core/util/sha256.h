#pragma once
// SHA-256 (FIPS 180-4), for one-way digests of client credentials (the "principal" a session is
// bound to). Small and dependency-free; not for bulk data.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ssestitch::util {

std::array<std::uint8_t, 32> sha256(std::string_view data) noexcept;
// Lower-case hex of sha256(data).
std::string sha256_hex(std::string_view data);

}  // namespace ssestitch::util
