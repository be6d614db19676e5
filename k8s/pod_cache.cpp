#include "k8s/pod_cache.hpp"

#include <algorithm>
#include <memory>

namespace kepler {
namespace {

bool same_containers(const std::vector<pod_container>& a, const std::vector<pod_container>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const pod_container& x, const pod_container& y) { return x.id == y.id && x.name == y.name; });
}

bool same_pod(const pod_record& a, const pod_record& b) {
  return a.uid == b.uid && a.name == b.name && a.namespace_name == b.namespace_name &&
         same_containers(a.containers, b.containers);
}

}  // namespace

bool pod_cache::upsert(const pod_record& pod) {
  auto [it, inserted] = pods_.try_emplace(pod.uid, pod);
  if (inserted) return true;
  if (same_pod(it->second, pod)) return false;
  it->second = pod;
  return true;
}

bool pod_cache::replace(const std::vector<pod_record>& pods) {
  std::unordered_map<std::string, pod_record> fresh;
  fresh.reserve(pods.size());
  for (const auto& pod : pods) fresh.insert_or_assign(pod.uid, pod);
  bool changed = fresh.size() != pods_.size();
  for (auto it = fresh.begin(); !changed && it != fresh.end(); ++it) {
    auto old = pods_.find(it->first);
    changed = old == pods_.end() || !same_pod(old->second, it->second);
  }
  pods_ = std::move(fresh);
  return changed;
}

bool pod_cache::apply(const watch_event& event) {
  switch (event.type) {
    case watch_event::kind::added:
    case watch_event::kind::modified: return upsert(event.pod);
    case watch_event::kind::deleted: return pods_.erase(event.pod.uid) > 0;
    case watch_event::kind::bookmark:
    case watch_event::kind::error: return false;
  }
  return false;
}

pod_index_ptr pod_cache::index() const {
  std::vector<pod_record> pods;
  pods.reserve(pods_.size());
  for (const auto& entry : pods_) pods.push_back(entry.second);
  std::sort(pods.begin(), pods.end(), [](const pod_record& a, const pod_record& b) { return a.uid < b.uid; });
  return std::make_shared<const pod_index>(pods);
}

const pod_record* pod_cache::find(const std::string& uid) const {
  auto it = pods_.find(uid);
  return it == pods_.end() ? nullptr : &it->second;
}

}  // namespace kepler
