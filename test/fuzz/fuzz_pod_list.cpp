// Pod lists (kubelet /pods, API-server list) and watch events, as JSON from the network: each
// parses into a value or an error naming the problem, within the limits, and the pod index
// built from a list finds every container it was given (unless two pods claim one id).

#include <cstddef>
#include <cstdint>

#include "k8s/pod_index.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

using namespace kepler;

void check_list(const pod_list& list, const pod_parse_limits& limits) {
  KEPLER_FUZZ_CHECK(list.pods.size() <= limits.max_pods, "at most max_pods pods");
  for (const auto& pod : list.pods)
    KEPLER_FUZZ_CHECK(pod.containers.size() <= limits.max_containers_per_pod, "at most max_containers_per_pod");
  const pod_index index(list.pods);
  for (const auto& pod : list.pods) {
    for (const auto& container : pod.containers) {
      const auto* found = index.find_container(container.id);
      KEPLER_FUZZ_CHECK(found != nullptr || index.ambiguous_ids() > 0, "every unambiguous container is indexed");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto json = kepler::fuzz::as_text(data, size);
  // Odd sizes also run with tiny limits, so the limit paths are reached from small inputs.
  const pod_parse_limits limits = size % 2 == 0 ? pod_parse_limits{} : pod_parse_limits{3, 2};
  if (auto list = parse_pod_list(json, limits)) check_list(list.value(), limits);
  if (auto event = parse_watch_event(json, limits)) {
    const auto& pod = event.value().pod;
    KEPLER_FUZZ_CHECK(pod.containers.size() <= limits.max_containers_per_pod, "at most max_containers_per_pod");
  }
  return 0;
}
