// The unit-test binary's main: runs doctest inside a private scratch directory
// ($TMPDIR/ssestitch-unit.XXXXXX), removed on success and kept (and printed) on failure.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/ssestitch-unit.XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const fs::path previous = fs::current_path();
  fs::current_path(templ);
  doctest::Context context(argc, argv);
  const int rc = context.run();
  fs::current_path(previous);
  std::error_code ec;
  if (rc == 0 && !context.shouldExit()) {
    fs::remove_all(templ, ec);
  } else if (rc != 0) {
    std::fprintf(stderr, "unit_tests: scratch directory kept: %s\n", templ.c_str());
  } else {
    fs::remove_all(templ, ec);
  }
  return rc;
}
