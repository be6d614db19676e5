#pragma once
// The web config file (`web.configFile`) in the Prometheus exporter-toolkit format:
// TLS, basic auth users and extra response headers.

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// TLS protocol versions, numbered as on the wire (and as OpenSSL's TLS1_x_VERSION).
enum class tls_version { tls10 = 0x0301, tls11 = 0x0302, tls12 = 0x0303, tls13 = 0x0304 };

/// `client_auth_type`, with Go's crypto/tls meaning.
enum class client_auth {
  no_client_cert,                  ///< never ask for a client certificate
  request_client_cert,             ///< ask, accept none or any (unverified)
  require_any_client_cert,         ///< require one, do not verify it
  verify_client_cert_if_given,     ///< accept none; a given one must verify against the CA
  require_and_verify_client_cert,  ///< require one that verifies against the CA
};

/// `tls_server_config`; paths are absolute (relative ones resolved against the web config's directory).
struct tls_settings {
  std::string cert_file;
  std::string cert;  ///< inline PEM, instead of cert_file
  std::string key_file;
  std::string key;  ///< inline PEM, instead of key_file
  std::string client_ca_file;
  std::string client_ca;  ///< inline PEM, instead of client_ca_file
  client_auth client_auth_type = client_auth::no_client_cert;
  tls_version min_version = tls_version::tls12;
  std::optional<tls_version> max_version;  ///< none: the newest the library has
  std::vector<std::string> cipher_suites;  ///< IANA names (Go's), TLS ≤ 1.2 only
  std::vector<std::string> curve_groups;   ///< OpenSSL group names, mapped from Go's curve names
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> client_allowed_sans;  ///< a verified client certificate must carry one
};

/// One parsed web config file.
struct web_config {
  std::string path;                                          ///< the file, as given
  std::optional<tls_settings> tls;                           ///< none: plain HTTP
  std::map<std::string, std::string> users;                  ///< basic_auth_users: name → bcrypt hash; empty: no auth
  std::vector<std::pair<std::string, std::string>> headers;  ///< added to every response
  bool http2 = true;                                         ///< accepted for compatibility; we serve HTTP/1.1

  /// Every file this config reads (itself, certificates, keys, CAs): a change to any of them
  /// means the config must be loaded again.
  std::vector<std::string> files() const;
};

/// Reads and checks `path`. Like the exporter toolkit: unknown keys are errors, relative paths
/// are resolved against the file's directory. The error lists every problem, each naming its
/// key and line, after "web config <path>: ".
result<web_config> load_web_config(const std::string& path);

/// Parses web config text; `path` names it in errors and anchors relative paths.
result<web_config> parse_web_config(const std::string& text, const std::string& path);

}  // namespace kepler
