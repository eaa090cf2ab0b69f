// Result<T, E>: a value or an error, for operations where failure is a normal outcome
// (DCS unreachable, key changed under us). Exceptions stay for the unexpected.
#pragma once

#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

namespace custos {

// Tag wrapper so that Result<std::string, std::string> can still tell a value from an error.
template <class E>
struct Err {
  E error;
};
template <class E>
Err<std::decay_t<E>> make_error(E&& e) {
  return Err<std::decay_t<E>>{std::forward<E>(e)};
}

struct Unit {
  bool operator==(const Unit&) const = default;
};

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  template <class E2>
  Result(Err<E2> e) : v_(std::in_place_index<1>, E(std::move(e.error))) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& {
    if (!ok()) throw std::logic_error("Result::value() called on an error");
    return std::get<0>(v_);
  }
  T& value() & {
    if (!ok()) throw std::logic_error("Result::value() called on an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!ok()) throw std::logic_error("Result::value() called on an error");
    return std::get<0>(std::move(v_));
  }
  const E& error() const {
    if (ok()) throw std::logic_error("Result::error() called on a value");
    return std::get<1>(v_);
  }
  const T* operator->() const { return &value(); }
  const T& operator*() const& { return value(); }
  T value_or(T fallback) const { return ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, E> v_;
};

// Result of an operation that yields nothing but may fail.
template <class E>
using Status = Result<Unit, E>;

}  // namespace custos
