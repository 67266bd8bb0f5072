// A minimal Expected<T, E> (std::expected is C++23): a value or an error, never both. Expected
// failures are values in this code base; exceptions are kept for start-up and programmer errors.
#pragma once

#include <cassert>
#include <utility>
#include <variant>

namespace dfmcp {

template <typename E> struct Unexpected {
  E error;
};
template <typename E> Unexpected<std::decay_t<E>> unexpected(E &&e) {
  return {std::forward<E>(e)};
}

template <typename T, typename E> class Expected {
public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  template <typename G> Expected(Unexpected<G> u) : v_(std::in_place_index<1>, std::move(u.error)) {}

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T &value() & { assert(has_value()); return std::get<0>(v_); }
  const T &value() const & { assert(has_value()); return std::get<0>(v_); }
  T &&value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }

  E &error() & { assert(!has_value()); return std::get<1>(v_); }
  const E &error() const & { assert(!has_value()); return std::get<1>(v_); }

private:
  std::variant<T, E> v_;
};

// Expected<void, E>: success carries nothing.
struct Ok {};

} // namespace dfmcp
