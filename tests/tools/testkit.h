#pragma once
// ssestitch-testkit: helper programs for the integration tier (test upstreams, a fault-injecting
// relay, store writers, counting clients). Each tool lives in its own file and registers itself:
//
//   static testkit::Register reg{"store-writer", "append events 1..N to a store", &main_fn};
//
// Usage: ssestitch-testkit TOOL [ARGS...]; `ssestitch-testkit` alone lists the tools.
// Tools only ever listen on or connect to 127.0.0.1 / ::1, and every tool that runs until told
// to stop takes a --lifetime bound (seconds) so that a forgotten process ends by itself.

#include <string>
#include <vector>

namespace ssestitch::testkit {

using ToolMain = int (*)(const std::vector<std::string>& args);

struct Register {
  Register(const char* name, const char* summary, ToolMain fn);
};

// Small argument helpers: "--name value" pairs and flags, for tools' own parsing.
class Args {
 public:
  explicit Args(const std::vector<std::string>& args) : m_args(args) {}
  // Value after --name, or `fallback` when absent.
  std::string get(const std::string& name, const std::string& fallback = "") const;
  long long get_int(const std::string& name, long long fallback) const;
  double get_double(const std::string& name, double fallback) const;
  bool flag(const std::string& name) const;

 private:
  const std::vector<std::string>& m_args;
};

}  // namespace ssestitch::testkit
