// pod_index built from the real pod lists: every listed id finds its pod, the cgroup ids
// captured on the same nodes join to the right pods, ambiguous ids are left out.

#include <catch2/catch.hpp>

#include <optional>

#include "k8s/pod_index.hpp"
#include "test/k8s/pod_fixtures.hpp"
#include "test/support/heap_usage.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

std::vector<pod_record> fixture_pods(const std::string& path) {
  auto parsed = parse_pod_list(whole_file(path));
  INFO(path << ": " << (parsed ? std::string() : parsed.error_message()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value().pods;
}

}  // namespace

TEST_CASE("every container id a fixture table lists finds its pod and container name", "[k8s][pod_index]") {
  for (const auto& stem : pod_list_fixtures()) {
    INFO(stem);
    const pod_index index(fixture_pods(stem + ".json"));
    const auto expected = expected_pods(stem);
    std::set<std::string> ids;
    for (const auto& pod : expected) {
      const auto* found_pod = index.find_pod(pod.uid);
      REQUIRE(found_pod != nullptr);
      CHECK(found_pod->pod_name == pod.name);
      CHECK(found_pod->pod_namespace == pod.namespace_name);
      CHECK(found_pod->container_name.empty());
      for (const auto& [name, id] : pod.containers) {
        INFO(id);
        ids.insert(id);
        const auto* found = index.find_container(id);
        REQUIRE(found != nullptr);
        CHECK(found->pod_uid == pod.uid);
        CHECK(found->pod_name == pod.name);
        CHECK(found->pod_namespace == pod.namespace_name);
        CHECK(found->container_name == name);
      }
    }
    CHECK(index.pod_count() == expected.size());
    CHECK(index.container_count() == ids.size());
    CHECK(index.ambiguous_ids() == 0);
  }
}

TEST_CASE("ids the pod list does not name as a container status are not found", "[k8s][pod_index]") {
  const pod_index index(fixture_pods(pod_fixture("dd_podlist_init_container_terminated_containerd.json")));
  // previous instance of a restarted container, only in lastState
  CHECK(index.find_container("cbeb7e0c866f6f7de6225f994b5253cc15109248e50aa98673b097970fe556b8") == nullptr);
  CHECK(index.find_container("containerd://6f23d0cd20742a67eb07581b2a7b79b48f6814c4fef313b51d0af76813482c2a") ==
        nullptr);
  CHECK(index.find_container("") == nullptr);
  CHECK(index.find_pod("") == nullptr);
  const auto* init = index.find_container("922a2f3f14d1724d7eeb6cad2b5138bcbd85948c802fead1af2a1e5d79807e4e");
  REQUIRE(init != nullptr);
  CHECK(init->container_name == "init-myservice");
}

TEST_CASE("an id claimed by two different pods is left out and counted, the rest stays", "[k8s][pod_index]") {
  auto pods = fixture_pods(pod_fixture("nr_k8s1.16_docker_minikube.json"));
  REQUIRE(pods.size() == 16);
  const auto shared = pods[0].containers.at(0).id;
  const auto own = pods[1].containers.at(0).id;
  pods[1].containers.push_back(pod_container{shared, "copy"});

  const pod_index two(pods);
  CHECK(two.ambiguous_ids() == 1);
  CHECK(two.find_container(shared) == nullptr);
  REQUIRE(two.find_container(own) != nullptr);
  CHECK(two.find_container(own)->pod_uid == pods[1].uid);
  CHECK(two.find_pod(pods[0].uid) != nullptr);
  CHECK(two.find_pod(pods[1].uid) != nullptr);
  CHECK(two.container_count() == 15 - 1);

  pods[2].containers.push_back(pod_container{shared, "third"});
  const pod_index three(pods);
  CHECK(three.ambiguous_ids() == 1);
  CHECK(three.find_container(shared) == nullptr);
}

TEST_CASE("the same pod listed twice is not ambiguous", "[k8s][pod_index]") {
  auto pods = fixture_pods(pod_fixture("nr_k8s1.28_containerd1.6_kind.json"));
  const pod_index once(pods);
  const auto copy = pods;
  pods.insert(pods.end(), copy.begin(), copy.end());
  const pod_index twice(pods);
  CHECK(twice.ambiguous_ids() == 0);
  CHECK(twice.pod_count() == once.pod_count());
  CHECK(twice.container_count() == once.container_count());
  CHECK(twice.container_count() == 28);
}

TEST_CASE("an id under two statuses of one pod takes the first status's name", "[k8s][pod_index]") {
  pod_record pod{"uid-1", "web-0", "shop", {{"abc", "web"}, {"abc", "init"}, {"", "waiting"}}};
  const pod_index index({pod});
  CHECK(index.ambiguous_ids() == 0);
  CHECK(index.container_count() == 1);
  REQUIRE(index.find_container("abc") != nullptr);
  CHECK(index.find_container("abc")->container_name == "web");
}

TEST_CASE("memory_bytes matches what the allocator hands out for the index", "[k8s][pod_index]") {
  CHECK(pod_index().memory_bytes() == 0);
  std::vector<pod_record> pods;  // every fixture's pods together: ~130 pods, ~140 ids
  for (const auto& stem : pod_list_fixtures()) {
    auto more = fixture_pods(stem + ".json");
    pods.insert(pods.end(), more.begin(), more.end());
  }
  std::optional<pod_index> index;
  const auto allocated = kepler::testing::heap_growth([&] { index.emplace(pods); });
  const auto estimate = index->memory_bytes();
  INFO("estimate " << estimate << " bytes, allocator " << allocated << " bytes");
  CHECK(index->container_count() > 100);
  if (!kepler::testing::heap_usage_measurable) {
    WARN("a sanitizer replaces glibc's malloc: memory_bytes is not compared with it");
    return;
  }
  CHECK(estimate >= allocated * 9 / 10);
  CHECK(estimate <= allocated * 11 / 10);
}
