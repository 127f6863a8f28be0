#include "core/store/redis_connection.h"

#include <hiredis/hiredis.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>

#include <charconv>
#include <new>
#include <optional>

namespace ssestitch::store::redis {

using util::Errc;

namespace {

constexpr int k_max_redirects = 5;

// A command's arguments as hiredis takes them.
struct CArgv {
  explicit CArgv(const std::vector<std::string_view>& argv) {
    ptrs.reserve(argv.size());
    lens.reserve(argv.size());
    for (std::string_view a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  int argc() const noexcept { return static_cast<int>(ptrs.size()); }
  std::vector<const char*> ptrs;
  std::vector<std::size_t> lens;
};

timeval to_timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

}  // namespace

void ReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }

bool is_error(const redisReply* r) noexcept { return r != nullptr && r->type == REDIS_REPLY_ERROR; }

util::Result<void> check(const redisReply* r, const std::string& where) {
  if (!is_error(r)) return util::ok();
  const std::string_view t = text(r);
  const auto starts = [&](std::string_view p) { return t.rfind(p, 0) == 0; };
  const Errc code = starts("OOM")                                         ? Errc::store_full
                    : starts("FENCED ")                                   ? Errc::store_locked
                    : starts("ERR user_script:") || starts("ERR Unknown Redis command called from script")
                        ? Errc::internal
                    : starts("WRONGTYPE") || starts("ERR The ID specified in XADD is equal or smaller")
                        ? Errc::store_corrupt
                        : Errc::store_unavailable;
  std::string m = "redis ";
  m.append(where).append(": ").append(t);
  return util::fail(code, std::move(m));
}
bool is_nil(const redisReply* r) noexcept { return r == nullptr || r->type == REDIS_REPLY_NIL; }

std::string_view text(const redisReply* r) noexcept {
  if (r == nullptr) return {};
  if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS && r->type != REDIS_REPLY_ERROR) return {};
  return std::string_view(r->str, r->len);
}

std::int64_t integer(const redisReply* r) noexcept {
  if (r == nullptr) return 0;
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type != REDIS_REPLY_STRING) return 0;
  std::int64_t v = 0;
  std::from_chars(r->str, r->str + r->len, v);
  return v;
}

std::size_t elements(const redisReply* r) noexcept {
  return r != nullptr && r->type == REDIS_REPLY_ARRAY ? r->elements : 0;
}

const redisReply* element(const redisReply* r, std::size_t i) noexcept {
  return i < elements(r) ? r->element[i] : nullptr;
}

// One hiredis context: a server of its own, or one node of a cluster.
class Connection::Node {
 public:
  static util::Result<std::unique_ptr<Node>> open(const NodeAddress& tcp, const std::string& unix_path,
                                                  int timeout_ms, std::string where) {
    const timeval tv = to_timeval(timeout_ms);
    auto n = std::unique_ptr<Node>(new Node(tcp, std::move(where)));
    n->m_ctx.reset(unix_path.empty() ? redisConnectWithTimeout(tcp.host.c_str(), tcp.port, tv)
                                     : redisConnectUnixWithTimeout(unix_path.c_str(), tv));
    if (!n->m_ctx) return util::fail(Errc::store_unavailable, "redis " + n->m_where + ": out of memory");
    if (n->m_ctx->err != 0) return n->failure("connect");
    if (redisSetTimeout(n->m_ctx.get(), tv) != REDIS_OK) return n->failure("set timeout");
    if (unix_path.empty()) redisEnableKeepAlive(n->m_ctx.get());
    return n;
  }

  void append(const std::vector<std::string_view>& argv) {
    CArgv c(argv);
    redisAppendCommandArgv(m_ctx.get(), c.argc(), c.ptrs.data(), c.lens.data());
  }
  void append_formatted(std::string_view command) {
    redisAppendFormattedCommand(m_ctx.get(), command.data(), command.size());
  }
  // Writes what append() buffered without waiting for a reply.
  void flush() noexcept {
    int done = 0;
    while (m_ctx->err == 0 && done == 0) {
      if (redisBufferWrite(m_ctx.get(), &done) != REDIS_OK) return;
    }
  }
  util::Result<Reply> reply() {
    void* raw = nullptr;
    if (m_ctx->err != 0 || redisGetReply(m_ctx.get(), &raw) != REDIS_OK || raw == nullptr) {
      if (raw != nullptr) freeReplyObject(raw);
      return failure("command");
    }
    return Reply(static_cast<redisReply*>(raw));
  }
  util::Result<Reply> command(const std::vector<std::string_view>& argv) {
    append(argv);
    return reply();
  }
  bool broken() const noexcept { return m_ctx->err != 0; }
  redisContext* context() const noexcept { return m_ctx.get(); }
  util::Error failure(const char* what) const {
    std::string m = "redis ";
    m.append(m_where).append(": ").append(what).append(": ");
    m.append(m_ctx && m_ctx->err != 0 ? m_ctx->errstr : "no reply");
    return util::fail(Errc::store_unavailable, std::move(m));
  }
  const NodeAddress& address() const noexcept { return m_address; }
  const std::string& where() const noexcept { return m_where; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* c) const noexcept { redisFree(c); }
  };
  Node(NodeAddress address, std::string where) : m_address(std::move(address)), m_where(std::move(where)) {}

  std::unique_ptr<redisContext, ContextDeleter> m_ctx;
  NodeAddress m_address;  // empty host for a unix socket
  std::string m_where;    // for messages
};

// A command appended in cluster mode: where it went, its bytes (to resend after a redirect) and,
// once read ahead of its turn, its reply.
struct Connection::Pending {
  std::size_t node = 0;
  std::string command;
  Reply ready;
};

Connection::Connection(std::unique_ptr<Node> seed, int timeout_ms) : m_timeout_ms(timeout_ms) {
  m_nodes.push_back(std::move(seed));
}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

util::Result<Connection> Connection::open(const Address& address, int timeout_ms) {
  // hiredis write()s to its socket: a server that went away must not end the process with
  // SIGPIPE (the proxy's loop ignores it already; inspect, replay and tests may not).
  struct sigaction old {};
  if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  // The first node of the URL that answers (several: a cluster's seeds).
  std::vector<NodeAddress> nodes{NodeAddress{address.host, address.port}};
  nodes.insert(nodes.end(), address.more.begin(), address.more.end());
  std::optional<Connection> opened;
  util::Result<Reply> slots = util::fail(Errc::store_unavailable, "redis " + address.display() + ": no node");
  for (const NodeAddress& node : nodes) {
    auto seed = Node::open(node, address.unix_path, timeout_ms, address.display());
    if (!seed) {
      slots = std::move(seed).error();
      continue;
    }
    opened.emplace(Connection(std::move(*seed), timeout_ms));
    slots = opened->m_nodes.front()->command({"CLUSTER", "SLOTS"});
    if (slots) break;
  }
  if (!slots) return std::move(slots).error();
  Connection& conn = *opened;
  Node& first = *conn.m_nodes.front();
  if (is_error(slots->get()) && !address.more.empty()) {
    return util::fail(Errc::invalid_argument, "redis " + address.display() + ": several nodes name a Redis Cluster, and " +
                                                  first.address().host + ":" + std::to_string(first.address().port) +
                                                  " has no cluster support");
  }
  if (!is_error(slots->get())) {  // cluster support: this node knows the slot table
    if (address.db != 0) {
      return util::fail(Errc::invalid_argument, "redis " + address.display() + ": a Redis Cluster has only database 0");
    }
    auto loaded = parse_slots(slots->get(), address.host);
    if (!loaded) return std::move(loaded).error();
    conn.m_slot_node.assign(k_slots, 0);
    for (const SlotRange& range : *loaded) {
      auto n = conn.node_for(range.master);
      if (!n) return std::move(n).error();
      for (std::size_t s = range.first; s <= range.last; ++s) conn.m_slot_node[s] = static_cast<std::uint16_t>(*n);
    }
  } else if (address.db != 0) {
    const std::string db = std::to_string(address.db);
    auto r = first.command({"SELECT", db});
    if (!r) return std::move(r).error();
    if (is_error(r->get())) {
      return util::fail(Errc::store_unavailable, "redis " + first.where() + ": SELECT " + db + ": " + std::string(text(r->get())));
    }
  }
  return std::move(conn);
}

// The index of the node at `where`, connecting to it the first time.
util::Result<std::size_t> Connection::node_for(const NodeAddress& where) {
  for (std::size_t i = 0; i < m_nodes.size(); ++i) {
    if (m_nodes[i]->address() == where) return i;
  }
  Address named;
  named.host = where.host;
  named.port = where.port;
  auto n = Node::open(where, {}, m_timeout_ms, named.display());
  if (!n) return std::move(n).error();
  m_nodes.push_back(std::move(*n));
  return m_nodes.size() - 1;
}

std::size_t Connection::route(const std::vector<std::string_view>& argv) const noexcept {
  const auto key = command_key(argv);
  return key ? m_slot_node[key_slot(*key)] : 0;
}

void Connection::append(const std::vector<std::string_view>& argv) {
  ++m_unread;
  if (!cluster()) {
    m_nodes.front()->append(argv);
    return;
  }
  CArgv c(argv);
  char* formatted = nullptr;
  const int len = redisFormatCommandArgv(&formatted, c.argc(), c.ptrs.data(), c.lens.data());
  if (len < 0 || formatted == nullptr) throw std::bad_alloc();
  Pending p{route(argv), std::string(formatted, static_cast<std::size_t>(len)), nullptr};
  redisFreeCommand(formatted);
  m_nodes[p.node]->append_formatted(p.command);
  m_pending.push_back(std::move(p));
}

void Connection::flush_all() noexcept {
  for (auto& n : m_nodes) n->flush();
}

util::Result<Reply> Connection::reply() {
  if (m_unread > 0) --m_unread;
  if (!cluster()) return m_nodes.front()->reply();
  auto r = next_reply();
  if (!r) m_failed = true;  // replies may be out of step now: the owner opens a new connection
  return r;
}

util::Result<Reply> Connection::next_reply() {
  if (m_next >= m_pending.size()) return util::fail(Errc::store_unavailable, "redis " + m_nodes.front()->where() + ": no command pending");
  Pending& p = m_pending[m_next];
  Reply r = std::move(p.ready);
  if (!r) {
    flush_all();  // every node works on its part of the pipeline while we wait for this one
    auto got = m_nodes[p.node]->reply();
    if (!got) return std::move(got).error();
    r = std::move(*got);
  }
  if (is_error(r.get()) && parse_redirect(text(r.get()))) {
    // Read the replies still in flight first, so the node we resend to has none pending.
    for (std::size_t j = m_next + 1; j < m_pending.size(); ++j) {
      if (m_pending[j].ready) continue;
      auto got = m_nodes[m_pending[j].node]->reply();
      if (!got) return std::move(got).error();
      m_pending[j].ready = std::move(*got);
    }
    auto final_reply = redirected(std::move(r), std::move(p.command));
    if (!final_reply) return final_reply;
    r = std::move(*final_reply);
  }
  if (++m_next == m_pending.size()) {
    m_pending.clear();
    m_next = 0;
  }
  return r;
}

// Follows MOVED (the slot's entry is corrected) and ASK (ASKING first, the map unchanged).
util::Result<Reply> Connection::redirected(Reply first, std::string command) {
  Reply r = std::move(first);
  for (int hop = 0; hop < k_max_redirects; ++hop) {
    const auto to = parse_redirect(text(r.get()));
    if (!is_error(r.get()) || !to) return r;
    auto n = node_for(to->node);
    if (!n) return std::move(n).error();
    if (!to->ask) m_slot_node[to->slot] = static_cast<std::uint16_t>(*n);
    Node& node = *m_nodes[*n];
    if (to->ask) node.append({"ASKING"});
    node.append_formatted(command);
    if (to->ask) {
      auto asking = node.reply();
      if (!asking) return std::move(asking).error();
    }
    auto got = node.reply();
    if (!got) return std::move(got).error();
    r = std::move(*got);
  }
  if (!is_error(r.get()) || !parse_redirect(text(r.get()))) return r;
  return util::fail(Errc::store_unavailable, "redis " + m_nodes.front()->where() + ": redirected more than " +
                                                 std::to_string(k_max_redirects) + " times (" + std::string(text(r.get())) + ")");
}

util::Result<Reply> Connection::command(const std::vector<std::string_view>& argv) {
  append(argv);
  return reply();
}

util::Result<std::vector<Reply>> Connection::broadcast(const std::vector<std::string_view>& argv) {
  std::vector<std::size_t> targets{0};
  if (cluster()) {  // the masters: the nodes some slot maps to
    std::vector<bool> serves(m_nodes.size(), false);
    for (std::uint16_t n : m_slot_node) serves[n] = true;
    targets.clear();
    for (std::size_t i = 0; i < serves.size(); ++i) {
      if (serves[i]) targets.push_back(i);
    }
  }
  for (std::size_t i : targets) m_nodes[i]->append(argv);
  std::vector<Reply> out;
  for (std::size_t i : targets) {
    auto r = m_nodes[i]->reply();
    if (!r) return std::move(r).error();
    out.push_back(std::move(*r));
  }
  return out;
}

bool Connection::broken() const noexcept {
  if (m_failed || m_unread != 0) return true;
  for (const auto& n : m_nodes) {
    if (n->broken()) return true;
  }
  return false;
}

bool Connection::cluster() const noexcept { return !m_slot_node.empty(); }

util::Result<void> Connection::make_nonblocking() {
  Node& node = *m_nodes.front();
  if (cluster()) return util::fail(Errc::invalid_argument, "redis " + node.where() + ": a cluster connection stays blocking");
  redisContext* c = node.context();
  const int flags = fcntl(c->fd, F_GETFL);
  if (flags < 0 || fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return util::fail(Errc::store_unavailable, "redis " + node.where() + ": cannot make the socket non-blocking");
  }
  c->flags &= ~REDIS_BLOCK;  // hiredis then takes EAGAIN as "later", not as an error
  return util::ok();
}

int Connection::fd() const noexcept { return m_nodes.front()->context()->fd; }

util::Result<bool> Connection::write() {
  Node& node = *m_nodes.front();
  int done = 0;
  if (node.broken() || redisBufferWrite(node.context(), &done) != REDIS_OK) return node.failure("write");
  return done != 0;
}

util::Result<void> Connection::read() {
  Node& node = *m_nodes.front();
  if (node.broken() || redisBufferRead(node.context()) != REDIS_OK) return node.failure("read");
  return util::ok();
}

util::Result<std::optional<Reply>> Connection::ready_reply() {
  Node& node = *m_nodes.front();
  void* raw = nullptr;
  if (node.broken() || redisGetReplyFromReader(node.context(), &raw) != REDIS_OK) return node.failure("reply");
  if (raw == nullptr) return std::optional<Reply>();
  if (m_unread > 0) --m_unread;
  return std::optional<Reply>(Reply(static_cast<redisReply*>(raw)));
}

}  // namespace ssestitch::store::redis
