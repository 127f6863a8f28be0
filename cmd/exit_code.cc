#include "cmd/exit_code.h"

namespace ssestitch::cmd {

int exit_code_for(util::Errc e) noexcept {
  using util::Errc;
  switch (e) {
    case Errc::invalid_argument: return k_exit_usage;
    case Errc::store_open_failed:
    case Errc::store_not_a_store:
    case Errc::store_version:
    case Errc::store_corrupt:
    case Errc::store_locked:
    case Errc::store_full:
    case Errc::store_queue_full:
    case Errc::store_closed:
    case Errc::store_unavailable: return k_exit_store;
    case Errc::upstream_unreachable: return k_exit_upstream;
    case Errc::upstream_refused: return k_exit_upstream;
    case Errc::not_found: return k_exit_not_found;
    case Errc::bad_event_id: return k_exit_no_such_event;
    default: return k_exit_failure;
  }
}

}  // namespace ssestitch::cmd
