#pragma once
// What a web config asks of every connection: TLS, basic auth, extra headers.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "base/result.hpp"
#include "http/basic_auth.hpp"
#include "http/web_config.hpp"

namespace kepler {

/// The web config turned into working objects, shared (immutable) by the connections
/// accepted while it is current.
struct web_security {
  std::shared_ptr<boost::asio::ssl::context> tls;            ///< null: plain HTTP
  std::shared_ptr<const basic_auth> auth;                    ///< null: no authentication
  std::vector<std::pair<std::string, std::string>> headers;  ///< added to every response
};

/// Builds TLS and auth from `config`; the error starts with "web config <path>: ".
result<std::shared_ptr<const web_security>> make_web_security(const web_config& config);

}  // namespace kepler
