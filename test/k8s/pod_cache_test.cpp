#include "k8s/pod_cache.hpp"

#include <sstream>

#include <catch2/catch.hpp>

#include "test/k8s/kube_server_fixture.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

watch_event event_of(const std::string& line) {
  auto event = parse_watch_event(line);
  REQUIRE(event.ok());
  return event.value();
}

std::vector<pod_record> pods_of(const std::string& list_json) {
  auto list = parse_pod_list(list_json);
  REQUIRE(list.ok());
  return list.value().pods;
}

}  // namespace

TEST_CASE("a relist reports a change only when the pods differ", "[pod_cache]") {
  pod_cache cache;
  const auto fixture = pods_of(pods_fixture_text("nr_k8s1.28_containerd1.6_kind.json"));
  CHECK(cache.replace(fixture));
  CHECK(cache.size() == fixture.size());
  CHECK_FALSE(cache.replace(fixture));

  auto reordered = fixture;
  std::reverse(reordered.begin(), reordered.end());
  CHECK_FALSE(cache.replace(reordered));

  auto renamed = fixture;
  renamed[0].containers.at(0).name = "renamed";
  CHECK(cache.replace(renamed));
  CHECK(cache.find(renamed[0].uid)->containers.at(0).name == "renamed");

  auto fewer = fixture;
  fewer.pop_back();
  CHECK(cache.replace(fewer));
  CHECK(cache.find(fixture.back().uid) == nullptr);
  CHECK(cache.replace({}));
  CHECK(cache.size() == 0);
}

TEST_CASE("watch events add, update and delete pods; repeats and bookmarks change nothing", "[pod_cache]") {
  pod_cache cache;
  CHECK(cache.apply(event_of(pod_event("ADDED", "uid-1", "web", "10", 1))));
  CHECK_FALSE(cache.apply(event_of(pod_event("MODIFIED", "uid-1", "web", "11", 1))));  // only the version moved
  CHECK(cache.apply(event_of(pod_event("MODIFIED", "uid-1", "web", "12", 2))));        // container restarted
  CHECK(cache.find("uid-1")->containers.at(0).id == container_id(2));
  CHECK_FALSE(cache.apply(event_of(bookmark_event("13"))));
  CHECK_FALSE(cache.apply(event_of(error_event(410, "too old"))));
  CHECK(cache.apply(event_of(pod_event("DELETED", "uid-1", "web", "14", 2))));
  CHECK_FALSE(cache.apply(event_of(pod_event("DELETED", "uid-1", "web", "15", 2))));
  CHECK(cache.size() == 0);
}

TEST_CASE("the recorded API-server watch stream builds the pod's index once its container starts", "[pod_cache]") {
  std::istringstream stream(pods_fixture_text("apiserver_watch_pods_k8s1.2_docker_raw.jsonl"));
  const std::string running = "b97168314ad58404dbce7cb94291db7a976d2cb824b39e5864bf4bdaf27af255";
  pod_cache cache;
  std::vector<bool> changed;
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty()) changed.push_back(cache.apply(event_of(line)));
  }
  REQUIRE(changed.size() == 4);
  CHECK(changed[0]);  // ADDED, Pending without statuses
  CHECK(changed[3]);  // the container id appears
  auto index = cache.index();
  REQUIRE(index->pod_count() == 1);
  const pod_ref* ref = index->find_container(running);
  REQUIRE(ref != nullptr);
  CHECK(ref->pod_uid == "090cc0c8-ea84-11e5-8c79-42010af00003");
  CHECK(ref->pod_name == "nginx-app-o0kvl");
  CHECK(ref->pod_namespace == "default");
}

TEST_CASE("each index is a separate immutable snapshot", "[pod_cache]") {
  pod_cache cache;
  cache.apply(event_of(pod_event("ADDED", "uid-1", "web", "1", 1)));
  auto before = cache.index();
  cache.apply(event_of(pod_event("DELETED", "uid-1", "web", "2", 1)));
  auto after = cache.index();
  CHECK(before->find_container(container_id(1)) != nullptr);
  CHECK(after->find_container(container_id(1)) == nullptr);
  CHECK(after->pod_count() == 0);
}
