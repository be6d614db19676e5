#pragma once
// A value or an error message: how core components report failure without throwing.

#include <string>
#include <utility>
#include <variant>

namespace kepler {

/// A failure described for a human: what went wrong and on which input.
struct error {
  std::string message;
};

/// Either a value of type T or an error; core components return it instead of throwing.
template <class T>
class result {
 public:
  result(T value) : state_(std::move(value)) {}
  result(error err) : state_(std::move(err)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const std::string& error_message() const { return std::get<1>(state_).message; }

 private:
  std::variant<T, error> state_;
};

/// Convenience for building an error result.
inline error make_error(std::string message) { return error{std::move(message)}; }

}  // namespace kepler
