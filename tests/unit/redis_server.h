#pragma once
// redis-server processes for the unit tests of RedisStore, on unix sockets in the scratch
// directory (no port to collide), stopped by PID (and, should the test process die first, by
// the kernel: PR_SET_PDEATHSIG). shared() is one per test process, without persistence; tests
// isolate themselves on it with a key prefix of their own. A test that stops and restarts
// Redis starts a server of its own.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

namespace ssestitch::test {

class RedisServer {
 public:
  // The shared server (no persistence); fails the test when redis-server cannot be started.
  static RedisServer& shared() {
    static RedisServer server("redis", false);
    REQUIRE_MESSAGE(server.running(), server.m_error);
    return server;
  }
  // A server of the caller's, in ./NAME; `persistent`: appendonly with appendfsync always, so
  // a stop() and start() keep every acknowledged write.
  RedisServer(const std::string& name, bool persistent) : m_persistent(persistent) {
    m_dir = (std::filesystem::current_path() / name).string();
    std::filesystem::create_directories(m_dir);
    m_socket = m_dir + "/redis.sock";
    start();
  }
  ~RedisServer() { stop(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool running() const { return m_pid > 0; }
  const std::string& error() const { return m_error; }
  // `unix://SOCKET?prefix=PREFIX`
  std::string url(const std::string& prefix) const {
    std::string u = "unix://";
    u.append(m_socket).append("?prefix=").append(prefix);
    return u;
  }

  // Starts the server and waits (up to 5 s) until it accepts connections.
  void start() {
    const pid_t parent = getpid();
    const char* aof = m_persistent ? "yes" : "no";
    m_pid = fork();
    if (m_pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", m_socket.c_str(), "--unixsocketperm", "700",
             "--save", "", "--appendonly", aof, "--appendfsync", "always", "--dir", m_dir.c_str(), "--loglevel",
             "warning", "--logfile", "redis.log", static_cast<char*>(nullptr));
      _exit(127);
    }
    if (m_pid < 0) {
      m_error = std::string("fork: ") + std::strerror(errno);
      return;
    }
    for (int i = 0; i < 500; ++i) {
      if (connectable()) return;
      if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
        m_pid = -1;
        m_error = "redis-server exited at start (is it installed? scripts/bootstrap test installs it)";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    m_error = "redis-server did not listen on " + m_socket + " within 5 s";
  }

  // SIGTERM (the server saves and exits), SIGKILL after 2 s.
  void stop() {
    if (m_pid <= 0) return;
    kill(m_pid, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (waitpid(m_pid, nullptr, WNOHANG) == m_pid) {
        m_pid = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
    m_pid = -1;
  }

 private:
  bool connectable() const {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, m_socket.c_str(), sizeof a.sun_path - 1);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }

  bool m_persistent = false;
  pid_t m_pid = -1;
  std::string m_dir;
  std::string m_socket;
  std::string m_error;
};

}  // namespace ssestitch::test
