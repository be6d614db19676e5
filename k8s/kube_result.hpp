#pragma once
// Errors of the Kubernetes clients, classified by kind so the pod watcher can count them
// ("errors by kind") and decide how to react (relist on 410, back off on the rest).

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "sensors/result.hpp"

namespace kepler {

/// What went wrong talking to the kubelet or the API server.
enum class kube_error_kind {
  config,          ///< a local setting or file is invalid (URL, CA or client certificate, kubeconfig)
  token_file,      ///< the bearer token file is missing, unreadable or empty
  connect,         ///< name resolution or TCP connect failed (server down, refused, unreachable)
  tls,             ///< TLS handshake failed (certificate not trusted, wrong host or IP, protocol)
  timeout,         ///< the request's deadline passed (stalled server)
  io,              ///< the connection failed mid-response (reset, closed early, malformed HTTP)
  http_status,     ///< a non-success HTTP status other than 401/403 (`status` holds it)
  auth,            ///< HTTP 401 or 403: the token or certificate was refused
  body_too_large,  ///< the response body (or one watch event) exceeds the configured limit
  parse,           ///< the body is not the JSON document expected
  stopped,         ///< the caller asked to stop (not a failure of the server)
};

/// The label value for a kind (`kepler_kube_errors_total{kind="..."}`).
std::string_view to_string(kube_error_kind kind);

/// A classified failure with a message naming the URL and the cause.
struct kube_error {
  kube_error_kind kind = kube_error_kind::io;
  std::string message;
  int status = 0;  ///< the HTTP status for http_status and auth errors, else 0
};

/// Either a value or a classified error; the same interface as `result<T>` plus the kind.
template <class T>
class kube_result {
 public:
  kube_result(T value) : state_(std::move(value)) {}
  kube_result(kube_error err) : state_(std::move(err)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }

  const kube_error& error() const { return std::get<1>(state_); }
  const std::string& error_message() const { return error().message; }
  kube_error_kind error_kind() const { return error().kind; }

 private:
  std::variant<T, kube_error> state_;
};

/// Builds a classified error.
inline kube_error make_kube_error(kube_error_kind kind, std::string message, int status = 0) {
  return kube_error{kind, std::move(message), status};
}

/// A value-less success for operations that only succeed or fail.
struct kube_ok {};

}  // namespace kepler
