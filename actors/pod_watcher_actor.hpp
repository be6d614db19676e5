#pragma once
// The kubelet watcher: keeps the pods of this node (from the kubelet, or an API-server list
// and watch) and pushes each new immutable pod index, with its own health, to the engine.

#include <atomic>
#include <map>
#include <memory>
#include <optional>

#include "base/backoff.hpp"
#include "config/config.hpp"
#include "actors/messages.hpp"
#include "k8s/apiserver_pod_source.hpp"
#include "k8s/kubelet_pod_source.hpp"
#include "k8s/kubeconfig.hpp"
#include "k8s/kube_settings.hpp"

namespace kepler {

struct pod_watcher_config {
  kube_settings settings;
  in_cluster_env cluster = in_cluster_env::from_environment();
  caf::actor engine;  ///< receives every pod_update
  /// Raised at shutdown so a request in progress gives up within ~100 ms.
  std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
  std::function<double()> random;  ///< backoff jitter in [0, 1); default: a real generator
};

struct pod_watcher_state {
  static inline const char* name = "pod_watcher";
  pod_watcher_config config;
  std::optional<kubelet_pod_source> kubelet;      ///< once its endpoint is known
  std::optional<apiserver_pod_source> apiserver;  ///< once its configuration is loaded
  kube_health health;
  std::map<std::string, uint64_t> errors;  ///< failed syncs by kind
  std::unique_ptr<backoff> delay;
  std::string last_problem;  ///< logged once until it changes or clears
};

/// Meant to be spawned detached: each poll blocks on the network (bounded by the request
/// timeout and the stop flag). On a failure it keeps the last good index (the engine keeps
/// using it), reports the error kind, and retries after a backoff (1 s doubling to 5 min).
caf::behavior pod_watcher(caf::stateful_actor<pod_watcher_state>* self, pod_watcher_config config);

/// The pod source settings a configuration describes.
kube_settings kube_settings_from(const kepler_config& config);

}  // namespace kepler
