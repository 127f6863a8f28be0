#pragma once
// redis-server processes for the unit tests of RedisStore, on unix sockets in the scratch
// directory (no port to collide), stopped by PID (and, should the test process die first, by
// the kernel: PR_SET_PDEATHSIG). shared() is one per test process, without persistence; tests
// isolate themselves on it with a key prefix of their own. A test that stops and restarts
// Redis starts a server of its own. RedisCluster: three masters on free TCP ports of
// 127.0.0.1 (a cluster node has no unix-socket bus), slots split in three, one per process.

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace ssestitch::test {

// Whether a TCP socket can bind 127.0.0.1:PORT.
inline bool loopback_port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto* sa = reinterpret_cast<sockaddr*>(&a);
  const bool ok = ::bind(fd, sa, sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The reply of the server on 127.0.0.1:PORT to `args` as text (status, string or error, "ERR:"
// before an error's text); "" when it cannot be reached.
inline std::string loopback_reply(int port, const std::vector<std::string>& args) {
  std::string out;
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c != nullptr && c->err == 0) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data()));
    if (r != nullptr && r->str != nullptr) out.assign(r->str, r->len);
    if (r != nullptr && r->type == REDIS_REPLY_INTEGER) out = std::to_string(r->integer);
    if (r != nullptr && r->type == REDIS_REPLY_ERROR) out.insert(0, "ERR:");
    freeReplyObject(r);
  }
  redisFree(c);
  return out;
}

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
  // A cluster node on TCP `port` of 127.0.0.1 (its bus on port + 10000), no persistence.
  RedisServer(const std::string& name, int port) : m_port(port) {
    m_dir = (std::filesystem::current_path() / name).string();
    std::filesystem::create_directories(m_dir);
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

  int port() const { return m_port; }

  // Starts the server and waits (up to 5 s) until it accepts connections.
  void start() {
    const pid_t parent = getpid();
    std::vector<std::string> args{"redis-server", "--save", "", "--appendonly", m_persistent ? "yes" : "no",
                                  "--appendfsync", "always", "--dir", m_dir, "--loglevel", "warning",
                                  "--logfile", "redis.log"};
    if (m_port == 0) {
      args.insert(args.end(), {"--port", "0", "--unixsocket", m_socket, "--unixsocketperm", "700"});
    } else {
      args.insert(args.end(), {"--port", std::to_string(m_port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                               "--cluster-config-file", m_dir + "/nodes.conf"});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    m_pid = fork();
    if (m_pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      execvp("redis-server", argv.data());
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
    m_error = "redis-server did not listen on " + (m_port == 0 ? m_socket : std::to_string(m_port)) + " within 5 s";
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
  // Whether our server accepts connections. For a TCP node the server on the port must be ours
  // (INFO's process_id): another test process's node can take the port between the check that
  // it is free and our bind, and then a connection succeeds while our server exits on the
  // failed bind (seen as "SET-CONFIG-EPOCH: ... does not know any other node" and clusters that
  // never reached cluster_state:ok, with several unit test processes at a time).
  bool connectable() const {
    if (m_port != 0) {
      const std::string info = loopback_reply(m_port, {"INFO", "server"});
      return info.find("process_id:" + std::to_string(m_pid) + "\r\n") != std::string::npos;
    }
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
  int m_port = 0;  // 0: a unix socket
  pid_t m_pid = -1;
  std::string m_dir;
  std::string m_socket;
  std::string m_error;
};

// Three masters that form a cluster (the test's own hiredis commands: ADDSLOTSRANGE, a config
// epoch each, MEET), ready once every node says cluster_state:ok (up to 10 s).
class RedisCluster {
 public:
  static RedisCluster& shared() {
    static RedisCluster cluster;
    REQUIRE_MESSAGE(cluster.m_error.empty(), cluster.m_error);
    return cluster;
  }
  // `redis://127.0.0.1:PORT?prefix=PREFIX` of the first node (the others are found from it).
  std::string url(const std::string& prefix) const {
    return "redis://127.0.0.1:" + std::to_string(m_nodes.front()->port()) + "?prefix=" + prefix;
  }
  int port(int node) const { return m_nodes[static_cast<std::size_t>(node)]->port(); }
  // Node `node`'s reply as text (loopback_reply).
  std::string command(int node, const std::vector<std::string>& args) const {
    return loopback_reply(port(node), args);
  }

 private:
  RedisCluster() {
    std::mt19937 rng(static_cast<unsigned>(getpid()));
    for (int i = 0; i < 3; ++i) {
      // A node whose bus port was taken meanwhile exits at start: another pair, 5 tries.
      for (int attempt = 0; attempt < 5; ++attempt) {
        const int port = free_port_pair(rng);
        if (port == 0) break;
        auto node = std::make_unique<RedisServer>("redis-cluster-" + std::to_string(i) + "-" + std::to_string(attempt), port);
        if (node->running()) {
          m_nodes.push_back(std::move(node));
          break;
        }
        m_error = node->error();
      }
      if (m_nodes.size() != static_cast<std::size_t>(i) + 1) {
        if (m_error.empty()) m_error = "no free port pair for a cluster node";
        return;
      }
      m_error.clear();
    }
    const int slots[4] = {0, 5461, 10923, 16384};
    for (int i = 0; i < 3; ++i) {
      const std::string epoch = std::to_string(i + 1);
      const std::string first = std::to_string(slots[i]), last = std::to_string(slots[i + 1] - 1);
      if (!run(i, {"CLUSTER", "ADDSLOTSRANGE", first, last}) || !run(i, {"CLUSTER", "SET-CONFIG-EPOCH", epoch})) return;
    }
    for (int i = 1; i < 3; ++i) {
      if (!run(0, {"CLUSTER", "MEET", "127.0.0.1", std::to_string(m_nodes[static_cast<std::size_t>(i)]->port())})) return;
    }
    for (int attempt = 0; attempt < 500; ++attempt) {
      int ok = 0;
      for (int i = 0; i < 3; ++i) ok += command(i, {"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
      if (ok == 3) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    m_error = "the test cluster did not reach cluster_state:ok within 10 s";
  }

  // A port P with P and P + 10000 (the cluster bus) free on 127.0.0.1, both below the ephemeral
  // range (an outgoing connection's port there would make the bus' bind fail).
  static int free_port_pair(std::mt19937& rng) {
    int low = 32768, high = 60999;
    if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
      if (std::fscanf(f, "%d %d", &low, &high) != 2 || low < 21000) low = 32768;
      std::fclose(f);
    }
    std::uniform_int_distribution<int> pick(10000, low - 10001);
    for (int attempt = 0; attempt < 200; ++attempt) {
      const int p = pick(rng);
      if (loopback_port_free(p) && loopback_port_free(p + 10000)) return p;
    }
    return 0;
  }
  bool run(int i, const std::vector<std::string>& args) {
    const std::string r = command(i, args);
    if (r.rfind("ERR:", 0) == 0 || r.empty()) m_error = "cluster set-up: " + args[1] + ": " + (r.empty() ? "no reply" : r);
    return m_error.empty();
  }

  std::vector<std::unique_ptr<RedisServer>> m_nodes;
  std::string m_error;
};

}  // namespace ssestitch::test
