#pragma once
// Pods of this node from the local kubelet: one `GET <endpoint>/pods` per poll, with the
// bearer token read again from its file each time (projected tokens rotate). Plain C++.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "k8s/kube_http_client.hpp"
#include "k8s/kube_settings.hpp"
#include "k8s/kubeconfig.hpp"
#include "k8s/pod_index.hpp"

namespace kepler {

/// What the kubelet source needs (from kube_settings, with the endpoint resolved).
struct kubelet_source_options {
  std::string endpoint;    ///< e.g. https://10.0.0.5:10250 (no trailing slash)
  std::string token_file;  ///< empty = no Authorization header
  std::string ca_file;     ///< empty = the system CA store
  bool insecure_skip_verify = false;
  std::chrono::milliseconds timeout{10'000};
  std::size_t max_body_bytes = 64u << 20;
  pod_parse_limits parse_limits;

  /// The options `settings` describe, for an endpoint already resolved.
  static kubelet_source_options from(const kube_settings& settings, std::string endpoint);
};

/// Polls the kubelet's pod list. Keeps its TLS context between polls and loads it again
/// after a TLS or configuration error, so a fixed CA file is picked up without a restart.
class kubelet_pod_source {
 public:
  explicit kubelet_pod_source(kubelet_source_options options);

  /// One poll: reads the token, GETs /pods and parses it. `should_stop` is polled while waiting.
  result<pod_list> fetch(const std::function<bool()>& should_stop = {});

  const kubelet_source_options& options() const { return options_; }

 private:
  result<kube_http_client*> client();

  kubelet_source_options options_;
  std::optional<kube_http_client> client_;
};

/// `https://<ip>:<port>` with IPv6 addresses in brackets.
std::string kubelet_endpoint_for(std::string_view node_ip, unsigned port = 10250);

/// The endpoint from the NODE_IP variable (the downward API's status.hostIP), or nullopt
/// when it is unset or empty.
std::optional<std::string> kubelet_endpoint_from_env();

/// The node's kubelet endpoint from its Node object (`GET /api/v1/nodes/<name>`): the first
/// InternalIP address and `status.daemonEndpoints.kubeletEndpoint.Port` (10250 if absent).
result<std::string> lookup_kubelet_endpoint(const api_server_config& api, const std::string& node_name,
                                            const request_options& options);

/// Extracts that endpoint from a Node document (parse errors name what is missing).
result<std::string> kubelet_endpoint_from_node(std::string_view node_json);

}  // namespace kepler
