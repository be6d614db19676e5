// The container id → pod index: built once per pod list, then only read.

#include <algorithm>
#include <unordered_set>

#include "k8s/pod_index.hpp"

namespace kepler {
namespace {

/// Bytes glibc's malloc takes for a request of `n`: 8 bytes of header, 16-byte granularity,
/// 32 bytes at least.
std::size_t malloc_chunk(std::size_t n) { return std::max<std::size_t>(32, (n + 8 + 15) & ~std::size_t{15}); }

/// Heap bytes a string owns: nothing while it fits the small-string buffer.
std::size_t heap_bytes(const std::string& s) {
  static const std::size_t inline_capacity = std::string().capacity();
  return s.capacity() > inline_capacity ? malloc_chunk(s.capacity() + 1) : 0;
}

std::size_t heap_bytes(const pod_ref& ref) {
  return heap_bytes(ref.pod_uid) + heap_bytes(ref.pod_name) + heap_bytes(ref.pod_namespace) +
         heap_bytes(ref.container_name);
}

/// A hash map's bucket array and nodes (libstdc++: next pointer, value, cached hash code),
/// plus the strings its keys and values own.
template <class Map>
std::size_t map_bytes(const Map& map) {
  constexpr std::size_t node = sizeof(void*) + sizeof(typename Map::value_type) + sizeof(std::size_t);
  std::size_t bytes = map.bucket_count() > 1 ? malloc_chunk(map.bucket_count() * sizeof(void*)) : 0;
  bytes += map.size() * malloc_chunk(node);
  for (const auto& [key, ref] : map) bytes += heap_bytes(key) + heap_bytes(ref);
  return bytes;
}

}  // namespace

pod_index::pod_index(const std::vector<pod_record>& pods) {
  std::size_t ids = 0;
  for (const auto& pod : pods) ids += pod.containers.size();
  containers_.reserve(ids);
  pods_.reserve(pods.size());

  // Ids claimed by two different pod uids; views into `pods`, which outlives this loop.
  std::unordered_set<std::string_view> ambiguous;
  for (const auto& pod : pods) {
    pods_.try_emplace(pod.uid, pod_ref{pod.uid, pod.name, pod.namespace_name, {}});
    for (const auto& container : pod.containers) {
      if (container.id.empty()) continue;
      const auto found = containers_.find(container.id);
      if (found == containers_.end())
        containers_.emplace(container.id, pod_ref{pod.uid, pod.name, pod.namespace_name, container.name});
      else if (found->second.pod_uid != pod.uid)  // the same pod listed twice is not ambiguous
        ambiguous.insert(container.id);
      // else: first status wins (regular, then ephemeral, then init, as the spec looks names up)
    }
  }
  for (const auto id : ambiguous) containers_.erase(containers_.find(id));
  ambiguous_ = ambiguous.size();
}

const pod_ref* pod_index::find_container(std::string_view container_id) const {
  const auto found = containers_.find(container_id);
  return found == containers_.end() ? nullptr : &found->second;
}

const pod_ref* pod_index::find_pod(std::string_view pod_uid) const {
  const auto found = pods_.find(pod_uid);
  return found == pods_.end() ? nullptr : &found->second;
}

std::size_t pod_index::memory_bytes() const { return map_bytes(containers_) + map_bytes(pods_); }

}  // namespace kepler
