#pragma once
// The pods an API-server list and watch reported for this node, by uid, from which the
// source builds a new immutable pod index whenever they change. Plain C++.

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "k8s/pod_index.hpp"

namespace kepler {

/// Pods by uid, kept up to date with list results and watch events.
class pod_cache {
 public:
  /// Replaces every pod with a fresh list (a relist); true when anything differs.
  bool replace(const std::vector<pod_record>& pods);

  /// Applies an added, modified or deleted event; true when the cache changed. Bookmarks and
  /// errors carry no pod and change nothing.
  bool apply(const watch_event& event);

  /// A new index of the cached pods (ordered by uid, so equal caches give equal indexes).
  pod_index_ptr index() const;

  std::size_t size() const { return pods_.size(); }
  /// The cached pod with this uid, or nullptr.
  const pod_record* find(const std::string& uid) const;

 private:
  /// Inserts or replaces one pod; true when it was new or different.
  bool upsert(const pod_record& pod);

  std::unordered_map<std::string, pod_record> pods_;
};

}  // namespace kepler
