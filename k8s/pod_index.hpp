#pragma once
// Pods scheduled on this node, as the kubelet or the API server lists them (docs/compatibility.md §4.6),
// and the immutable index the engine uses: container id → pod. Plain C++.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// One container status of a pod (init, regular or ephemeral) that carries a container id.
struct pod_container {
  std::string id;    ///< bare id: `containerd://`, `docker://`, `cri-o://` … prefix removed
  std::string name;  ///< the container's name in the pod spec (status `name`)
};

/// What Kepler needs of one pod.
struct pod_record {
  std::string uid;  ///< metadata.uid as the API gives it (dashed, or 32 hex for static pods)
  std::string name;
  std::string namespace_name;
  std::vector<pod_container> containers;  ///< only statuses that have a container id
};

/// A parsed PodList (kubelet `GET /pods` or API-server list).
struct pod_list {
  std::vector<pod_record> pods;
  std::string resource_version;  ///< metadata.resourceVersion, empty from the kubelet
};

/// Limits that keep a hostile or broken response from costing unbounded memory.
struct pod_parse_limits {
  std::size_t max_pods = 100'000;
  std::size_t max_containers_per_pod = 1'000;
};

/// Parses a PodList document. `items: null`, a missing `items` and pods without statuses
/// are valid (no pods / no containers); anything that is not a PodList is an error naming
/// what was wrong.
result<pod_list> parse_pod_list(std::string_view json, const pod_parse_limits& limits = {});

/// One line of an API-server watch stream (`{"type": ..., "object": ...}`).
struct watch_event {
  enum class kind { added, modified, deleted, bookmark, error };
  kind type = kind::added;
  pod_record pod;                ///< set for added/modified/deleted
  std::string resource_version;  ///< the object's metadata.resourceVersion (all but error)
  int error_code = 0;            ///< Status.code for error events (410 = resourceVersion too old)
  std::string error_message;     ///< Status.message for error events
};

/// Parses one watch event (one JSON document; surrounding whitespace ignored). An unknown
/// type, or an object that does not fit the type, is an error naming the problem.
result<watch_event> parse_watch_event(std::string_view json, const pod_parse_limits& limits = {});

/// A container's pod, as the engine labels it.
struct pod_ref {
  std::string pod_uid;
  std::string pod_name;
  std::string pod_namespace;
  std::string container_name;

  bool operator==(const pod_ref&) const = default;
};

/// Container id → pod, built once from a list of pods and then shared read-only.
/// A container id claimed by two different pods is ambiguous (spec: lookup error) and is
/// left out of the index; `ambiguous_ids()` counts such ids.
class pod_index {
 public:
  pod_index() = default;
  explicit pod_index(const std::vector<pod_record>& pods);

  /// The pod of a bare container id, or nullptr when no single pod claims it.
  const pod_ref* find_container(std::string_view container_id) const;
  /// Name and namespace of a pod by uid (container_name empty), or nullptr.
  const pod_ref* find_pod(std::string_view pod_uid) const;

  std::size_t pod_count() const { return pods_.size(); }
  std::size_t container_count() const { return containers_.size(); }
  std::size_t ambiguous_ids() const { return ambiguous_; }
  /// Heap bytes the index holds (approximate, for the memory budget).
  std::size_t memory_bytes() const;

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, pod_ref, string_hash, std::equal_to<>> containers_;
  std::unordered_map<std::string, pod_ref, string_hash, std::equal_to<>> pods_;
  std::size_t ambiguous_ = 0;
};

using pod_index_ptr = std::shared_ptr<const pod_index>;

}  // namespace kepler
