#pragma once
// Blocking HTTP/1.1 plumbing shared by bench's generator and sink, which run a thread per
// connection and block in send()/recv() as peer-bench's sse-gen and sse-sink do.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/net/headers.h"

namespace ssestitch::bench {

// A request or response head: its start line's three parts and the header fields.
struct Head {
  std::string_view part1;  // method, or HTTP version
  std::string_view part2;  // target, or status code
  std::string_view part3;  // HTTP version, or reason
  net::Headers headers;
};

inline constexpr std::size_t k_max_head = 16u << 10;

// Whether `in`, the bytes received so far, starts with a complete head. When it does, the
// head moves into `head` (ending with its last CRLF) and `in` keeps the bytes after it.
enum class HeadCut { incomplete, done, too_large };
HeadCut cut_head(std::string& in, std::string& head);
// One recv() appended to `in` (EINTR retried); false on EOF, an error or a receive timeout.
bool recv_into(int fd, std::string& in);
// Receives until a head is complete (cut_head); false on EOF, an error, a receive timeout
// (SO_RCVTIMEO) or a head over k_max_head.
bool read_head(int fd, std::string& in, std::string& head);
// Splits a head read by read_head; false when its start line lacks one of its first two parts
// (the third may be empty: a response without a reason phrase). The views point into `head`.
bool parse_head(std::string_view head, Head& out);
// send() until everything went (no SIGPIPE); false on an error.
bool send_all(int fd, std::string_view bytes) noexcept;

}  // namespace ssestitch::bench
