#include "tests/tools/testkit.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

namespace ssestitch::testkit {
namespace {

struct Tool {
  const char* summary;
  ToolMain fn;
};

std::map<std::string, Tool>& registry() {
  static std::map<std::string, Tool> tools;
  return tools;
}

}  // namespace

Register::Register(const char* name, const char* summary, ToolMain fn) {
  registry()[name] = Tool{summary, fn};
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  for (std::size_t i = 0; i + 1 < m_args.size(); ++i) {
    if (m_args[i] == name) return m_args[i + 1];
  }
  return fallback;
}

long long Args::get_int(const std::string& name, long long fallback) const {
  const std::string v = get(name);
  return v.empty() ? fallback : std::strtoll(v.c_str(), nullptr, 10);
}

double Args::get_double(const std::string& name, double fallback) const {
  const std::string v = get(name);
  return v.empty() ? fallback : std::strtod(v.c_str(), nullptr);
}

bool Args::flag(const std::string& name) const {
  for (const std::string& a : m_args) {
    if (a == name) return true;
  }
  return false;
}

}  // namespace ssestitch::testkit

int main(int argc, char** argv) {
  using namespace ssestitch::testkit;
  if (argc < 2 || registry().find(argv[1]) == registry().end()) {
    std::fprintf(stderr, "usage: ssestitch-testkit TOOL [ARGS...]\ntools:\n");
    for (const auto& [name, tool] : registry()) std::fprintf(stderr, "  %-16s %s\n", name.c_str(), tool.summary);
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  return registry()[argv[1]].fn(args);
}
