#pragma once
// The kubelet watcher: runs the pod informer (k8s/pod_informer) on its own thread and pushes
// each new immutable pod index, with the source's health, to the engine.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "actors/messages.hpp"
#include "k8s/pod_informer.hpp"

namespace kepler {

struct pod_watcher_config {
  kube_settings settings;
  in_cluster_env cluster = in_cluster_env::from_environment();
  pod_sink engine;  ///< receives every pod_update
  /// Raised at shutdown so a request in progress gives up within ~100 ms.
  std::shared_ptr<std::atomic<bool>> stopping = std::make_shared<std::atomic<bool>>(false);
  std::function<double()> random;  ///< backoff jitter in [0, 1); default: a real generator
};

struct pod_watcher_state {
  static inline const char* name = "pod_watcher";
  std::shared_ptr<std::atomic<bool>> stopping;
  std::optional<pod_informer> informer;
};

/// Meant to be spawned detached: each step blocks on the network (bounded by the request
/// timeout and the stop flag).
caf::behavior pod_watcher(caf::stateful_actor<pod_watcher_state>* self, pod_watcher_config config);

}  // namespace kepler
