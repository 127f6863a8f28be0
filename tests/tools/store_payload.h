#pragma once
// The event store-writer writes for each seq and store-check expects: upstream id "u<seq>", no
// type, and 256 bytes of data that start with "seq=<seq>;" and continue with letters derived
// from seq and position, so a torn or misplaced event never passes for another.

#include <cstdint>
#include <string>

namespace ssestitch::testkit {

inline constexpr std::size_t k_store_payload_bytes = 256;

inline void store_payload(std::uint64_t seq, std::string& out) {
  out.resize(k_store_payload_bytes);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>('a' + (seq * 31 + i * 7) % 26);
  }
  std::string head = "seq=";
  head += std::to_string(seq);
  head += ';';
  out.replace(0, head.size(), head);
}

inline std::string store_upstream_id(std::uint64_t seq) {
  std::string id(1, 'u');
  id += std::to_string(seq);
  return id;
}

}  // namespace ssestitch::testkit
