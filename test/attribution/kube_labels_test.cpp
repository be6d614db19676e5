#include "attribution/kube_labels.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

namespace {

const std::string pod_uid = "6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e";
const std::string container_id(64, 'c');

pod_index_ptr index_with_pod() {
  pod_record pod{pod_uid, "web-7d4b9", "shop", {{container_id, "nginx"}}};
  return std::make_shared<const pod_index>(std::vector<pod_record>{pod});
}

/// A snapshot with one running container of the pod, and the pod.
snapshot running_pod() {
  auto info = std::make_shared<process_info>();
  info->type = process_type::container;
  info->container_id = container_id;
  info->pod_id = pod_uid;
  snapshot snap;
  snap.containers.running.push_back(workload_row{info, &info->container_id, 0, 0});
  snap.pods.running.push_back(workload_row{info, &info->pod_id, 0, 0});
  return snap;
}

snapshot terminated_pod() {
  auto snap = running_pod();
  std::swap(snap.containers.running, snap.containers.terminated);
  std::swap(snap.pods.running, snap.pods.terminated);
  return snap;
}

}  // namespace

TEST_CASE("names come from the pod index and stay after the pod leaves it") {
  kube_labels labels;
  auto before = labels.update(running_pod());
  CHECK(before->container(container_id) == nullptr);  // no pod list yet

  labels.set_index(index_with_pod());
  auto named = labels.update(running_pod());
  REQUIRE(named->container(container_id));
  CHECK(named->container(container_id)->container_name == "nginx");
  CHECK(named->container(container_id)->pod_namespace == "shop");
  REQUIRE(named->pod(pod_uid));
  CHECK(named->pod(pod_uid)->pod_name == "web-7d4b9");
  CHECK(labels.update(running_pod()) == named);  // unchanged: the same shared names

  labels.set_index(std::make_shared<const pod_index>());  // the finished pod left the list
  auto after = labels.update(terminated_pod());
  REQUIRE(after->pod(pod_uid));
  CHECK(after->pod(pod_uid)->pod_name == "web-7d4b9");
  CHECK(after->container(container_id)->container_name == "nginx");

  auto expired = labels.update(snapshot{});  // retention over: nothing left to name
  CHECK(expired->by_container.empty());
  CHECK(expired->by_pod.empty());
}
