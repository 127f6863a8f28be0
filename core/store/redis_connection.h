#pragma once
// redis::Connection: a blocking hiredis connection with timeouts (one per node of a Redis
// Cluster), and the readers of its replies. Private to core/store (the only place that includes
// hiredis.h).
//
// Commands are argument vectors (binary-safe: event data may hold any byte). A caller pipelines
// by append()ing several commands and then taking as many reply()s; command() is both in one.
// An error *reply* (e.g. "WRONGTYPE", "NOSCRIPT") is a Reply like any other and the connection
// stays usable; a transport failure (refused, reset, timeout, protocol error) returns
// store_unavailable, after which the connection is broken() and the owner opens a new one.
// A connection is also broken() while commands appended have replies not taken: a caller that
// returns early from a pipeline leaves it so, and the next user must not read those replies
// as its own (owners check broken() between operations).
// open() sets SIGPIPE to ignored if it was at its default (a write to a server that went away).
//
// Cluster mode (redis_cluster.h has the routing): open() asks the server for CLUSTER SLOTS; a
// server with cluster support answers with its slot table, and the connection then holds one
// hiredis context per master, sends each command to the master of its key's slot, and returns
// replies in the order the commands were appended whichever nodes answered them. A MOVED reply
// corrects the slot's entry and sends the command again to the node it names (ASK: once, after
// ASKING), at most 5 times; the caller sees only the final reply. A redirected command may run
// after commands appended later to other nodes (only while slots migrate). Cluster mode keeps a
// copy of each pending command to resend it; without a cluster nothing is copied. Any failure
// in cluster mode (a node unreachable, too many redirects) makes the connection broken().

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/store/redis_address.h"
#include "core/store/redis_cluster.h"
#include "core/util/result.h"

struct redisContext;
struct redisReply;

namespace ssestitch::store::redis {

struct ReplyDeleter {
  void operator()(redisReply* r) const noexcept;
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// Reading replies (all tolerate a null reply and the wrong type: they return the empty value).
bool is_error(const redisReply* r) noexcept;
// An error reply as an error ("redis WHERE: ERRORTEXT"): store_full for OOM (Redis at
// maxmemory), store_locked for our append script's FENCED; for what no retry can change,
// internal for an error in our script (a Lua runtime error, a command Redis does not know) and
// store_corrupt for keys that are not what they should be (WRONGTYPE: another program's key
// under our prefix; an XADD refused as not newer: a stream whose counters lag its entries);
// store_unavailable for any other (LOADING, READONLY, BUSY, MASTERDOWN, ...: a writer holds
// those and tries again).
util::Result<void> check(const redisReply* r, const std::string& where);
bool is_nil(const redisReply* r) noexcept;
std::string_view text(const redisReply* r) noexcept;     // string, status or error text
std::int64_t integer(const redisReply* r) noexcept;      // an integer, or a string of digits
std::size_t elements(const redisReply* r) noexcept;      // of an array
const redisReply* element(const redisReply* r, std::size_t i) noexcept;

class Connection {
 public:
  // Connects (connect and command timeouts of `timeout_ms`) to the first node of the address
  // that answers and SELECTs the database. store_unavailable when no node can be reached or
  // one refuses. In a cluster: connects to every master; refused for a DB other than 0, and
  // several nodes are refused when the one that answers is no cluster (invalid_argument).
  static util::Result<Connection> open(const Address& address, int timeout_ms);
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  void append(const std::vector<std::string_view>& argv);
  util::Result<Reply> reply();
  util::Result<Reply> command(const std::vector<std::string_view>& argv);
  // A command without a key for every master of a cluster (one reply each, in node order), or
  // for the one server: SCRIPT LOAD, WAIT. Nothing may be pending.
  util::Result<std::vector<Reply>> broadcast(const std::vector<std::string_view>& argv);
  bool broken() const noexcept;
  bool cluster() const noexcept;

  // Non-blocking use from an event loop (one server, no cluster): after make_nonblocking(),
  // write() sends what the socket takes of what append() buffered (true once all is sent),
  // read() takes what the socket holds, and ready_reply() returns the next reply read, if one
  // is complete. Errors (store_unavailable, the server closed or reset) leave it broken().
  util::Result<void> make_nonblocking();
  int fd() const noexcept;
  util::Result<bool> write();
  util::Result<void> read();
  util::Result<std::optional<Reply>> ready_reply();

 private:
  class Node;
  struct Pending;
  Connection(std::unique_ptr<Node> seed, int timeout_ms);
  util::Result<std::size_t> node_for(const NodeAddress& where);
  std::size_t route(const std::vector<std::string_view>& argv) const noexcept;
  util::Result<Reply> next_reply();
  util::Result<Reply> redirected(Reply first, std::string command);
  void flush_all() noexcept;

  std::vector<std::unique_ptr<Node>> m_nodes;   // [0]: the node of the URL that answered
  std::vector<std::uint16_t> m_slot_node;       // slot -> index in m_nodes; empty: no cluster
  std::vector<Pending> m_pending;               // cluster: appended, reply not yet taken
  std::size_t m_next = 0;                       // index in m_pending of the next reply
  bool m_failed = false;                        // a cluster reply failed: broken()
  std::size_t m_unread = 0;                     // commands appended whose reply is not taken
  int m_timeout_ms = 0;
};

}  // namespace ssestitch::store::redis
