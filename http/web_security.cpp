#include "http/web_security.hpp"

#include "http/tls_context.hpp"

namespace kepler {

result<std::shared_ptr<const web_security>> make_web_security(const web_config& config) {
  auto security = std::make_shared<web_security>();
  if (config.tls) {
    auto tls = make_tls_context(*config.tls);
    if (!tls) return make_error("web config " + config.path + ": " + tls.error_message());
    security->tls = std::move(tls).value();
  }
  if (!config.users.empty()) {
    auto auth = basic_auth::create(config.users);
    if (!auth) return make_error("web config " + config.path + ": basic_auth_users: " + auth.error_message());
    security->auth = std::move(auth).value();
  }
  security->headers = config.headers;
  return std::shared_ptr<const web_security>(std::move(security));
}

}  // namespace kepler
