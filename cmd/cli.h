#pragma once
// The command line: parse_cli() fills Options (or says why not), run() is the process's main.

#include <string>

#include "cmd/options.h"

namespace ssestitch::cmd {

struct ParseResult {
  // Set when parsing decided the outcome already (help, version, usage error): print
  // `output` to stdout (exit 0) or `error` to stderr, then exit with `exit_code`.
  bool done = false;
  int exit_code = 0;
  std::string output;
  std::string error;
  Options options;
};

// Parses argv (flags > SSESTITCH_* environment > --config file > defaults). Never exits,
// never prints. Errors: done with exit_code 2 and a one-line `error`.
ParseResult parse_cli(int argc, const char* const* argv);

// main(): parse, configure logging, dispatch, map fatal errors to `ssestitch: error: ...`.
int run(int argc, char** argv);

}  // namespace ssestitch::cmd
