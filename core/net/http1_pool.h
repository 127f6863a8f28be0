#pragma once
// Http1Pool: idle HTTP/1.1 connections to the upstream, kept for the next request to the same
// origin ("host:port") after a response that allowed it (keep-alive), as libcurl's connection
// cache did. Bounded: at most k_max_idle_per_origin connections per origin and
// k_max_origins origins (beyond: closed), none older than k_max_idle_ms. Idle connections are
// not watched (no event per idle socket); one the server closed in the meantime is found when
// taken (a non-blocking peek: EOF, data or an error drop it), and a request that still meets a
// closed connection is sent again on a new one (Http1Transfer).
// Loop thread only.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/util/clock.h"
#include "core/util/unique_fd.h"

namespace ssestitch::net {

class Http1Pool {
 public:
  static constexpr std::size_t k_max_idle_per_origin = 32;
  static constexpr std::size_t k_max_origins = 64;
  static constexpr std::int64_t k_max_idle_ms = 30'000;

  explicit Http1Pool(const util::Clock& clock = util::system_clock()) : m_clock(clock) {}

  // The most recently idle live connection to `origin`, or an empty fd.
  util::UniqueFd take(std::string_view origin);
  // Keeps `fd` (a connection whose last response was read completely) for `origin`.
  void put(std::string_view origin, util::UniqueFd fd);
  std::size_t idle() const noexcept;

 private:
  struct Idle {
    util::UniqueFd fd;
    std::int64_t since_ns = 0;
  };
  const util::Clock& m_clock;
  std::unordered_map<std::string, std::vector<Idle>> m_idle;
};

}  // namespace ssestitch::net
