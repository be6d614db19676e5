#pragma once
// The HTTP side of a BMC: one kept-alive connection (HTTP or HTTPS, certificates verified unless
// the BMC file says `insecure`), one deadline per request, and Redfish's authentication on top:
// a session (POST to the service's Sessions, then X-Auth-Token; Kepler's way) or HTTP basic.
// Blocking: the BMC's own actor calls it, never the engine.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "sensors/platform/redfish_file.hpp"

namespace kepler {

struct bmc_header {
  std::string name, value;
};

/// A complete response, whatever its status.
struct bmc_response {
  unsigned status = 0;
  std::string body;
  std::string location;                             ///< Location header (a new session's URL)
  std::string auth_token;                           ///< X-Auth-Token header (a new session's token)
  std::optional<std::chrono::seconds> retry_after;  ///< Retry-After in seconds, when given
};

/// One connection to a BMC, opened on first use and kept open between requests. A kept
/// connection that the BMC closed meanwhile is reopened once, transparently.
class bmc_connection {
 public:
  /// Parses the endpoint and loads the trust settings; errors name the problem (kind config).
  /// `should_stop`, polled every 100 ms while a request waits, ends it at once (kind stopped).
  static result<std::unique_ptr<bmc_connection>> open(const redfish_bmc& bmc, std::chrono::milliseconds timeout,
                                                      std::function<bool()> should_stop = {});
  ~bmc_connection();

  /// Sends one request (method GET, POST or DELETE) and reads the whole response. Errors:
  /// connect, tls, timeout (the whole request took longer than the timeout), io, body_too_large,
  /// stopped. The `last` request (a logout at shutdown) is not stopped, and gets a second at most.
  result<bmc_response> send(std::string_view method, std::string_view target, std::string_view body,
                            const std::vector<bmc_header>& headers = {}, bool last = false);

  /// TCP connections opened so far (a kept connection is reused: one per BMC restart).
  uint64_t connects() const;
  /// Closes the connection; the next request opens a fresh one.
  void close();

  struct impl;

 private:
  explicit bmc_connection(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

/// Redfish requests with authentication. A request refused with 401 while a session is held
/// logs in again once (the session expired or the BMC restarted) before it counts as refused.
class redfish_client {
 public:
  static result<redfish_client> create(const redfish_bmc& bmc, std::chrono::milliseconds timeout,
                                       std::function<bool()> should_stop = {});

  /// GETs `path` and returns the body of a 2xx answer. Other answers are errors: auth (401,
  /// 403), http_status (the status set; Retry-After, if any, in retry_after()), or the
  /// connection's errors.
  result<std::string> get(std::string_view path);

  /// Ends the session, if any (best effort, on shutdown).
  void logout();

  /// The Retry-After of the last refused request (429, 503), if it gave one.
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }
  uint64_t connects() const { return connection_->connects(); }

 private:
  redfish_client(redfish_bmc bmc, std::shared_ptr<bmc_connection> connection)
      : bmc_(std::move(bmc)), connection_(std::move(connection)) {}
  result<void> log_in();
  result<bmc_response> send_authenticated(std::string_view path);
  std::vector<bmc_header> auth_headers() const;

  redfish_bmc bmc_;
  std::shared_ptr<bmc_connection> connection_;
  std::string session_token_;
  std::string session_url_;
  std::optional<std::chrono::seconds> retry_after_;
};

}  // namespace kepler
