#pragma once
// The pods of this node, kept from the kubelet or an API-server list and watch: which endpoint
// to use, when to try again, how failures are classified and counted, whether the source is
// healthy, and what to log (once per change). Plain C++; the pod watcher actor schedules it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/backoff.hpp"
#include "base/log_note.hpp"
#include "config/config.hpp"
#include "k8s/apiserver_pod_source.hpp"
#include "k8s/kube_settings.hpp"
#include "k8s/kubeconfig.hpp"
#include "k8s/kubelet_pod_source.hpp"
#include "k8s/pod_index.hpp"

namespace kepler {

/// How the pod source is doing (exported while kube.enabled).
struct kube_health {
  std::string mode;                 ///< kubelet or apiserver
  bool up = false;                  ///< the last sync succeeded
  uint64_t pods = 0;                ///< pods in the index in use
  double last_success_seconds = 0;  ///< wall clock of the last successful sync, 0 = never
  struct error_count {
    std::string kind;  ///< an error kind's text (errc)
    uint64_t count = 0;
  };
  std::vector<error_count> errors;  ///< failed syncs by kind
};

/// The pod source settings a configuration describes.
kube_settings kube_settings_from(const kepler_config& config);

/// Keeps the pods of this node. Each step() blocks on the network (bounded by the request
/// timeout and `should_stop`). A failure keeps the last good index in use, is counted by kind
/// and logged once until it changes or clears; retries back off from 1 s to 5 min.
class pod_informer {
 public:
  /// Told of each new index (null: only the health changed) with the health after it.
  using update_sink = std::function<void(pod_index_ptr index, const kube_health& health)>;
  using log_sink = std::function<void(const log_note& note)>;
  using stop_flag = std::function<bool()>;
  /// One request to the kubelet or one list page: long enough for a few MB on a busy node,
  /// short enough that a stalled server is noticed well within a poll interval.
  static constexpr std::chrono::seconds request_timeout{5};
  /// The shortest time between two watches (or relists after a 410).
  static constexpr std::chrono::milliseconds min_watch_period{1000};

  /// `random` gives backoff jitter in [0, 1); `wall_seconds` the wall clock for the health.
  pod_informer(kube_settings settings, in_cluster_env cluster, update_sink on_update, log_sink on_log,
               std::function<double()> random, std::function<double()> wall_seconds);

  /// The health before the first sync (the source down, no pods), as a first update.
  void start();

  /// One kubelet poll or one API-server list or watch; returns when to take the next step
  /// (0: at once), or 0 when `should_stop` became true.
  std::chrono::milliseconds step(const stop_flag& should_stop);

  const kube_health& health() const { return health_; }

 private:
  result<kubelet_pod_source*> kubelet_source(const stop_flag& should_stop);
  result<apiserver_pod_source*> apiserver_source();
  std::chrono::milliseconds poll_kubelet(const stop_flag& should_stop);
  std::chrono::milliseconds step_apiserver(const stop_flag& should_stop);
  void succeeded(pod_index_ptr index);
  void failed(const error& failure);
  void publish(pod_index_ptr index);

  kube_settings settings_;
  in_cluster_env cluster_;
  update_sink on_update_;
  log_sink on_log_;
  std::function<double()> wall_seconds_;
  backoff delay_;
  std::optional<kubelet_pod_source> kubelet_;      ///< once its endpoint is known
  std::optional<apiserver_pod_source> apiserver_;  ///< once its configuration is loaded
  kube_health health_;
  std::map<std::string, uint64_t> errors_;  ///< failed syncs by kind
  std::string last_problem_;                ///< logged once until it changes or clears
};

}  // namespace kepler
