#include "core/bench/child.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "core/bench/loopback.h"

namespace ssestitch::bench {
namespace {

using util::Errc;

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

bool accepts(std::uint16_t port) {
  const int fd = connect_loopback(port);
  if (fd >= 0) ::close(fd);
  return fd >= 0;
}

// The processes of our child's process group (the shell and what it started).
std::vector<int> group_pids(int pgid) {
  std::vector<int> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    int ppid = 0, pg = 0;
    rest >> state >> ppid >> pg;
    if (pg == pgid) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

std::uint64_t status_kb(int pid, std::string_view key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.starts_with(key)) return std::strtoull(line.c_str() + key.size(), nullptr, 10);
  }
  return 0;
}

}  // namespace

std::string expand(std::string text, std::uint16_t port, const std::string& upstream, const std::string& dir) {
  text = replace_all(std::move(text), "{port}", std::to_string(port));
  text = replace_all(std::move(text), "{upstream}", upstream);
  return replace_all(std::move(text), "{dir}", dir);
}

util::Result<std::unique_ptr<Child>> Child::start(const std::string& command_template, std::uint16_t port,
                                                  const std::string& upstream, const std::string& dir,
                                                  const std::string& log_path) {
  const std::string command = expand(command_template, port, upstream, dir);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log < 0) return util::fail(Errc::internal, log_path + ": " + std::strerror(errno));
  const std::string shell_command = "exec " + command;  // built before fork: no allocation after it
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return util::fail(Errc::internal, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    // Its own process group keeps it out of the terminal's ^C (bench stops it itself), so it
    // must not outlive a bench that is killed outright (a test's timeout, kill -9).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(log, 1);
    ::dup2(log, 2);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    ::execl("/bin/sh", "sh", "-c", shell_command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(log);
  std::unique_ptr<Child> child(new Child(pid));
  for (int i = 0; i < 400; ++i) {
    if (accepts(port)) return child;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      child->m_pid = -1;
      return util::fail(Errc::internal, "the proxy under test exited at start (see " + log_path + "): " + command);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return util::fail(Errc::timeout, "the proxy under test does not listen on port " + std::to_string(port) +
                                       " after 10 s (see " + log_path + "): " + command);
}

Child::~Child() { stop(); }

void Child::stop() noexcept {
  if (m_pid <= 0) return;
  ::kill(-m_pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
      ::kill(-m_pid, SIGKILL);  // anything of the group left behind
      m_pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ::kill(-m_pid, SIGKILL);
  ::waitpid(m_pid, nullptr, 0);
  m_pid = -1;
}

double Child::cpu_seconds() const {
  double total = 0;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (int pid : group_pids(m_pid)) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
      if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    total += static_cast<double>(utime + stime) / tick;
  }
  return total;
}

std::uint64_t Child::peak_rss_bytes() const {
  std::uint64_t kb = 0;
  for (int pid : group_pids(m_pid)) kb += status_kb(pid, "VmHWM:");
  return kb * 1024;
}

std::uint64_t Child::rss_bytes() const {
  std::uint64_t kb = 0;
  for (int pid : group_pids(m_pid)) kb += status_kb(pid, "VmRSS:");
  return kb * 1024;
}

}  // namespace ssestitch::bench
