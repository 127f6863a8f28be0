#pragma once
// Errors as values at module boundaries (STYLE.md habit 8). `Result<T>` is shaped like
// tl::expected / std::expected (g++ 12 has no std::expected in C++20 mode), so a later rename is
// mechanical. Lookups return `Result<std::optional<T>>`: an error, absent, or present.
//
//   util::Result<int> parse(std::string_view s);
//   if (auto r = parse(s); !r) { log(r.error().message); } else { use(*r); }
//   return util::fail(util::Errc::not_found, "no stream 7");

#include <cassert>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "core/util/errc.h"

namespace ssestitch::util {

struct Error {
  Errc code = Errc::internal;
  std::string message;  // names the call that failed and the library's text
};

// Builds an Error; converts implicitly into any Result<T>.
inline Error fail(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Error>, "Result<Error> is ambiguous");

 public:
  Result(const T& value) : m_v(std::in_place_index<0>, value) {}                     // NOLINT
  Result(T&& value) : m_v(std::in_place_index<0>, std::move(value)) {}               // NOLINT
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}             // NOLINT
  template <class U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
             !std::is_same_v<std::decay_t<U>, Error> && !std::is_same_v<std::decay_t<U>, Result>)
  Result(U&& value) : m_v(std::in_place_index<0>, T(std::forward<U>(value))) {}      // NOLINT

  bool has_value() const noexcept { return m_v.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(m_v); }
  const T& value() const& { assert(has_value()); return std::get<0>(m_v); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(m_v); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(m_v)); }

  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? value() : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)), m_ok(false) {}  // NOLINT

  bool has_value() const noexcept { return m_ok; }
  explicit operator bool() const noexcept { return m_ok; }
  const Error& error() const& { assert(!m_ok); return m_error; }
  Error&& error() && { assert(!m_ok); return std::move(m_error); }

 private:
  Error m_error;
  bool m_ok = true;
};

inline Result<void> ok() { return {}; }

}  // namespace ssestitch::util
