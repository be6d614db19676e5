#pragma once
// The one error vocabulary: a value or a classified error. Core modules return results and
// never throw across a module boundary; actors turn an error into a reply or an exit.

#include <string>
#include <utility>
#include <variant>

#include "base/named_enum.hpp"

namespace kepler {

/// What kind of failure an error is. Each text is also a metric label value (for example
/// `kepler_kube_errors_total{kind}`), so it is part of the exported interface.
#define KEPLER_ERROR_KINDS(X)                                                             \
  X(failed, "failed")                 /* not classified further: the message says it */   \
  X(io, "io")                         /* a read or write failed (file, device, stream) */ \
  X(parse, "parse")                   /* the input is not in the expected format */       \
  X(config, "config")                 /* a setting, or a file it names, is invalid */     \
  X(token_file, "token_file")         /* a bearer token file is missing or empty */       \
  X(connect, "connect")               /* name resolution or TCP connect failed */         \
  X(tls, "tls")                       /* the TLS handshake failed */                      \
  X(timeout, "timeout")               /* a deadline passed */                             \
  X(http_status, "http_status")       /* a failure status other than 401 and 403 */       \
  X(auth, "auth")                     /* HTTP 401 or 403: the credentials were refused */ \
  X(body_too_large, "body_too_large") /* an answer is larger than allowed */              \
  X(unavailable, "unavailable")       /* the source is not there (restarting, gone) */    \
  X(busy, "busy")                     /* the previous request is still being served */    \
  X(implausible, "implausible")       /* a reading no real value explains (a sentinel) */ \
  X(stopped, "stopped")               /* the caller asked to stop: nobody failed */
KEPLER_NAMED_ENUM(errc, KEPLER_ERROR_KINDS)

/// A failure described for a human (what went wrong, on which input) and classified for code.
struct error {
  errc kind = errc::failed;
  std::string message;
  int status = 0;  ///< the HTTP status of http_status and auth errors, else 0
};

/// An unclassified error.
inline error make_error(std::string message) { return error{errc::failed, std::move(message), 0}; }

/// A classified error.
inline error make_error(errc kind, std::string message, int status = 0) {
  return error{kind, std::move(message), status};
}

/// Either a value of type T or an error.
template <class T>
class result {
 public:
  result(T value) : state_(std::move(value)) {}
  result(kepler::error err) : state_(std::move(err)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }

  const kepler::error& error() const { return std::get<1>(state_); }
  const std::string& error_message() const { return error().message; }
  errc error_kind() const { return error().kind; }

 private:
  std::variant<T, kepler::error> state_;
};

/// Success or an error, for operations without a value; `return {};` is success.
template <>
class result<void> {
 public:
  result() = default;
  result(kepler::error err) : error_(std::move(err)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }

  const kepler::error& error() const { return error_; }
  const std::string& error_message() const { return error_.message; }
  errc error_kind() const { return error_.kind; }

 private:
  kepler::error error_;
  bool failed_ = false;
};

}  // namespace kepler
