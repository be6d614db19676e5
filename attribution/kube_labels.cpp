#include "attribution/kube_labels.hpp"

namespace kepler {

std::shared_ptr<const kube_names> kube_labels::update(const snapshot& snap) {
  kube_names next;
  auto name_container = [&](const workload_row& row) {
    const pod_ref* ref = index_ ? index_->find_container(row.id()) : nullptr;
    if (!ref) ref = current_->container(row.id());
    if (ref) next.by_container.emplace(row.id(), *ref);
  };
  auto name_pod = [&](const workload_row& row) {
    const pod_ref* ref = index_ ? index_->find_pod(row.id()) : nullptr;
    if (!ref) ref = current_->pod(row.id());
    if (ref) next.by_pod.emplace(row.id(), *ref);
  };
  for (const auto& row : snap.containers.running) name_container(row);
  for (const auto& row : snap.containers.terminated) name_container(row);
  for (const auto& row : snap.pods.running) name_pod(row);
  for (const auto& row : snap.pods.terminated) name_pod(row);
  if (next.by_container != current_->by_container || next.by_pod != current_->by_pod)
    current_ = std::make_shared<const kube_names>(std::move(next));
  return current_;
}

}  // namespace kepler
