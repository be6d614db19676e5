#pragma once
// How to reach the API server: the in-cluster service account or a kubeconfig file
// (current context: server, CA, token or token file, client certificate). Plain C++.

#include <string>

#include "base/result.hpp"
#include "k8s/kube_http_client.hpp"
#include "k8s/kube_settings.hpp"

namespace kepler {

/// The API server's address and the credentials to present to it.
struct api_server_config {
  std::string server;      ///< base URL without a trailing slash, e.g. https://10.96.0.1:443
  kube_tls_settings tls;   ///< CA to trust (or skip-verify) and the client certificate, if any
  std::string token;       ///< a static bearer token (kubeconfig `token`)
  std::string token_file;  ///< read again before every request: projected tokens rotate
};

/// The environment a pod sees (read once with `from_environment`, or set by tests).
struct in_cluster_env {
  std::string service_host;                                       ///< KUBERNETES_SERVICE_HOST
  std::string service_port;                                       ///< KUBERNETES_SERVICE_PORT
  std::string service_account_dir = kepler::service_account_dir;  ///< holds `token` and `ca.crt`

  static in_cluster_env from_environment();
};

/// The in-cluster configuration: https://host:port, the service account's CA and token file.
result<api_server_config> in_cluster_config(const in_cluster_env& env);

/// The current context of a kubeconfig file; relative file paths are relative to its folder.
/// Exec plugins, auth providers and basic auth are reported as unsupported.
result<api_server_config> load_kubeconfig(const std::string& path);

/// `kube.config` when set, else the in-cluster configuration from `env`.
result<api_server_config> api_server_config_for(const kube_settings& settings, const in_cluster_env& env);

/// The token of a token file (surrounding whitespace removed); a missing, unreadable or
/// empty file is a token_file error naming it.
result<std::string> read_token_file(const std::string& path);

/// The token for the next request: the token file's current content when one is set,
/// else the static token (possibly empty: no Authorization header).
result<std::string> current_token(const api_server_config& config);

/// Decodes standard base64 (whitespace ignored), as kubeconfig `*-data` fields hold PEM.
result<std::string> decode_base64(std::string_view text);

}  // namespace kepler
