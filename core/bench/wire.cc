#include "core/bench/wire.h"

#include <sys/socket.h>

#include <cerrno>

namespace ssestitch::bench {

HeadCut cut_head(std::string& in, std::string& head) {
  const std::size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return in.size() > k_max_head ? HeadCut::too_large : HeadCut::incomplete;
  head.assign(in, 0, end + 2);
  in.erase(0, end + 4);
  return HeadCut::done;
}

bool recv_into(int fd, std::string& in) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    in.append(buf, static_cast<std::size_t>(n));
    return true;
  }
}

bool read_head(int fd, std::string& in, std::string& head) {
  for (;;) {
    const HeadCut cut = cut_head(in, head);
    if (cut != HeadCut::incomplete) return cut == HeadCut::done;
    if (!recv_into(fd, in)) return false;
  }
}

bool parse_head(std::string_view head, Head& out) {
  const std::size_t eol = head.find("\r\n");
  const std::string_view start = head.substr(0, eol);
  const std::size_t sp1 = start.find(' ');
  if (sp1 == std::string_view::npos) return false;
  const std::size_t sp2 = start.find(' ', sp1 + 1);  // absent in "HTTP/1.1 200" (no reason)
  out.part1 = start.substr(0, sp1);
  out.part2 = start.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1);
  out.part3 = sp2 == std::string_view::npos ? std::string_view() : start.substr(sp2 + 1);
  if (out.part1.empty() || out.part2.empty()) return false;
  out.headers = net::Headers();
  for (std::size_t at = eol; at != std::string_view::npos && at + 2 < head.size();) {
    const std::size_t next = head.find("\r\n", at + 2);
    const std::string_view line = head.substr(at + 2, next == std::string_view::npos ? std::string_view::npos : next - at - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      out.headers.add(line.substr(0, colon), value);
    }
    at = next;
  }
  return true;
}

bool send_all(int fd, std::string_view bytes) noexcept {
  while (!bytes.empty()) {
    const ssize_t w = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

}  // namespace ssestitch::bench
