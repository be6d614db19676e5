#pragma once
// Kubernetes names for the exported containers and pods. Pure and CAF-free.

#include <memory>

#include "attribution/snapshot.hpp"
#include "k8s/pod_index.hpp"

namespace kepler {

/// Takes each workload's names from the latest pod index while the pod is listed there and
/// remembers them afterwards: a finished pod leaves the kubelet's list while its terminated
/// series are still exported, and its labels must not change under them.
class kube_labels {
 public:
  void set_index(pod_index_ptr index) { index_ = std::move(index); }
  const pod_index_ptr& index() const { return index_; }

  /// Names for the containers and pods of `snap` (running and terminated); the previous
  /// pointer when nothing changed, so unchanged intervals allocate nothing new to share.
  std::shared_ptr<const kube_names> update(const snapshot& snap);

 private:
  pod_index_ptr index_;
  std::shared_ptr<const kube_names> current_ = std::make_shared<const kube_names>();
};

}  // namespace kepler
