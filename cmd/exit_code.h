#pragma once
// The exit codes of every subcommand: one table, documented in ssestitch(1) ("EXIT STATUS").
// Scripts depend on these numbers; never renumber, only add.

#include "core/util/errc.h"

namespace ssestitch::cmd {

enum ExitCode : int {
  k_exit_ok = 0,                    // success
  k_exit_failure = 1,               // runtime failure, or a bench check failed
  k_exit_usage = 2,                 // bad command line, config file or environment value
  k_exit_store = 3,                 // store cannot be opened: missing, not a store, other
                                    // format version, corrupt, locked by another proxy, full
  k_exit_upstream = 4,              // upstream unreachable
  k_exit_not_found = 5,             // no such session or stream in the store
  k_exit_no_such_event = 6,         // the event id (--after-id) does not exist or was evicted
};

// The exit code for an error identity that ends a subcommand.
int exit_code_for(util::Errc e) noexcept;

}  // namespace ssestitch::cmd
