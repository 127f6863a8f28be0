#pragma once
// Child: a proxy under test started by `ssestitch bench` (this binary's `proxy`, or any command
// given with --against), with the peer-bench placeholders {port}, {upstream} and {dir}. Started
// with /bin/sh -c in its own process group, stopped by PID (TERM, then KILL), never anything
// else. Its CPU time and peak RSS come from /proc (the whole process group's leader).

#include <cstdint>
#include <memory>
#include <string>

#include "core/util/result.h"

namespace ssestitch::bench {

class Child {
 public:
  // Expands the placeholders, starts the command with stdout/stderr to `log_path`, and waits
  // (up to 10 s) until something accepts connections on 127.0.0.1:port.
  static util::Result<std::unique_ptr<Child>> start(const std::string& command_template, std::uint16_t port,
                                                    const std::string& upstream, const std::string& dir,
                                                    const std::string& log_path);
  ~Child();  // stop()
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  void stop() noexcept;
  int pid() const noexcept { return m_pid; }
  // utime + stime of the process group's processes, in seconds (from /proc).
  double cpu_seconds() const;
  // VmHWM (peak resident set) of the processes, in bytes.
  std::uint64_t peak_rss_bytes() const;
  std::uint64_t rss_bytes() const;

 private:
  explicit Child(int pid) : m_pid(pid) {}
  int m_pid = -1;
};

// "{port}" etc. replaced in `text`.
std::string expand(std::string text, std::uint16_t port, const std::string& upstream, const std::string& dir);

}  // namespace ssestitch::bench
