#pragma once
// guarded(): runs an observer callback from inside a C callback (libcurl, libevent). An
// exception it throws is logged and reported as false, so that the caller can end the
// transfer instead of letting the exception cross C frames (STYLE.md: noexcept trampolines).

#include <exception>

#include "core/util/log.h"

namespace ssestitch::net {

template <class F>
bool guarded(const char* where, F&& f) noexcept {
  try {
    f();
    return true;
  } catch (const std::exception& e) {
    util::log(util::LogLevel::error, "internal_error", {{"where", where}, {"what", e.what()}});
  } catch (...) {
    util::log(util::LogLevel::error, "internal_error", {{"where", where}});
  }
  return false;
}

}  // namespace ssestitch::net
