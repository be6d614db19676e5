#pragma once
// The `kube.*` settings of the pod source (Kepler HEAD's keys plus ours), with their defaults.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace kepler {

/// Where the service account's credentials are mounted in a pod.
inline constexpr const char* service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Everything the pod source needs; the daemon fills it from its configuration.
struct kube_settings {
  bool enabled = false;                                 ///< kube.enabled
  std::string node_name;                                ///< kube.nodeName (required when enabled)
  std::string kubeconfig;                               ///< kube.config; empty = in-cluster service account
  pod_informer_mode mode = pod_informer_mode::kubelet;  ///< kube.podInformer.mode: where pods come from
  std::chrono::milliseconds poll_interval{15'000};      ///< kube.podInformer.pollInterval

  /// kube.kubelet.endpoint; empty = https://$NODE_IP:10250, else the Node's InternalIP.
  std::string kubelet_endpoint;
  std::string kubelet_token_file = std::string(service_account_dir) + "/token";  ///< kube.kubelet.tokenFile
  std::string kubelet_ca_file = std::string(service_account_dir) + "/ca.crt";    ///< kube.kubelet.caFile
  bool kubelet_insecure_skip_verify = false;                                     ///< kube.kubelet.insecureSkipVerify

  std::chrono::milliseconds request_timeout{10'000};  ///< one list or kubelet poll, all steps included
  std::size_t max_body_bytes = 64u << 20;             ///< largest PodList (and watch event) accepted
  std::chrono::seconds watch_timeout{300};            ///< the API server ends each watch after this
};

/// Whether `name` can be a node name (a DNS subdomain: lowercase letters, digits, '-' and
/// '.'), so it is safe in URL paths and field selectors.
inline bool valid_node_name(std::string_view name) {
  return !name.empty() && name.size() <= 253 &&
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") == std::string_view::npos;
}

}  // namespace kepler
