#pragma once
// Why the metrics server dropped a connection or lost a request: the reasons are exported as
// kepler_http_dropped_connections_total{reason}, and each is logged (rate-limited by the
// observer) so that no dropped connection or swallowed exception goes unseen.

#include <exception>
#include <functional>
#include <string>

#include "base/named_enum.hpp"

namespace kepler {

#define KEPLER_HTTP_DROPS(X)                                                                 \
  X(tls_handshake, "tls_handshake")         /* the TLS handshake failed or timed out */      \
  X(plain_http_on_tls, "plain_http_on_tls") /* plain HTTP on a TLS port (answered 400) */    \
  X(request_timeout, "request_timeout")     /* the request did not arrive in time */         \
  X(idle_timeout, "idle_timeout")           /* a keep-alive client waited too long */        \
  X(read_error, "read_error")               /* the connection failed mid-request */          \
  X(write_timeout, "write_timeout")         /* the client did not read the response */       \
  X(write_error, "write_error")             /* the connection failed mid-response */         \
  X(evicted, "evicted")                     /* an idle keep-alive client, to make room */    \
  X(evicted_request, "evicted_request")     /* an unfinished request, to make room */        \
  X(evicted_response, "evicted_response")   /* a response not yet read, to make room */      \
  X(over_limit, "over_limit")               /* a new client refused: no longer happens */    \
  X(accept_error, "accept_error")           /* accepting failed (e.g. out of descriptors) */ \
  X(exception, "exception")                 /* serving threw (out of memory): swallowed */
KEPLER_NAMED_ENUM(http_drop, KEPLER_HTTP_DROPS)

/// Whether `reason` is a connection closed (or refused) because the server was at its
/// connection limit: those come in floods and are logged per episode, not one by one.
constexpr bool at_connection_limit(http_drop reason) {
  return reason == http_drop::evicted || reason == http_drop::evicted_request ||
         reason == http_drop::evicted_response || reason == http_drop::over_limit;
}

/// Told of every drop, from the server's I/O thread or a worker: the reason and what
/// happened (an error message, or the exception's), for the log.
using drop_observer = std::function<void(http_drop reason, const std::string& detail)>;

/// What the exception being handled says, inside a `catch (...)`: its what(), or that it is
/// not a std::exception.
inline std::string current_exception_text() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}

}  // namespace kepler
