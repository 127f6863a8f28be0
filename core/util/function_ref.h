#pragma once
// A non-owning reference to a callable, for callbacks that are only called during the call
// that receives them (parsers, store scans). Cheaper than std::function: no allocation, one
// indirect call. The referenced callable must outlive the FunctionRef.

#include <type_traits>
#include <utility>

namespace ssestitch::util {

template <class Sig>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, FunctionRef> && std::is_invocable_r_v<R, F&, Args...>)
  FunctionRef(F&& f) noexcept  // NOLINT: implicit by design, like std::function_ref
      : m_obj(const_cast<void*>(static_cast<const void*>(&f))),
        m_call([](void* obj, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return m_call(m_obj, std::forward<Args>(args)...); }

 private:
  void* m_obj;
  R (*m_call)(void*, Args...);
};

}  // namespace ssestitch::util
