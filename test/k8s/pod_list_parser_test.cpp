// parse_pod_list and parse_watch_event on the real kubelet / API-server captures, on the
// shapes the API allows but the captures lack, and on documents that are not pod lists.

#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "k8s/pod_index.hpp"
#include "test/k8s/pod_fixtures.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

pod_list must_parse(std::string_view json, const pod_parse_limits& limits = {}) {
  auto parsed = parse_pod_list(json, limits);
  INFO((parsed ? std::string() : parsed.error_message()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

std::string parse_error(std::string_view json, const pod_parse_limits& limits = {}) {
  auto parsed = parse_pod_list(json, limits);
  REQUIRE_FALSE(parsed.ok());
  return parsed.error_message();
}

std::string watch_error(std::string_view json) {
  auto parsed = parse_watch_event(json);
  REQUIRE_FALSE(parsed.ok());
  return parsed.error_message();
}

watch_event must_parse_event(std::string_view json) {
  auto parsed = parse_watch_event(json);
  INFO((parsed ? std::string() : parsed.error_message()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value();
}

std::string replace_once(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

/// A one-pod list whose status is `status` (raw JSON).
std::string pod_list_with_status(const std::string& status) {
  return R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[{"metadata":{"name":"web-0","namespace":"shop",)"
         R"("uid":"5c2b1a4e-0d7f-4a6e-9d0b-2f6f1d3f9a10"},"status":)" +
         status + "}]}";
}

const std::string id_a = "0b1e47f8f8e0b57d5c9d702acc40cbc387184510c661311c73d79ac55faa234e";
const std::string id_b = "98441ee957015abae3ce7ab9586da3eaaccd497eff98377e7ed0602ff83ad4e2";

}  // namespace

TEST_CASE("every kubelet-pods fixture parses into exactly the pods and container ids its table lists", "[k8s][pods]") {
  const auto stems = pod_list_fixtures();
  REQUIRE(stems.size() >= 11);
  for (const auto& stem : stems) {
    INFO(stem);
    const auto list = must_parse(whole_file(stem + ".json"));
    const auto expected = expected_pods(stem);
    REQUIRE(list.pods.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      INFO("item " << i);
      const auto& pod = list.pods[i];
      CHECK(pod.uid == expected[i].uid);
      CHECK(pod.name == expected[i].name);
      CHECK(pod.namespace_name == expected[i].namespace_name);
      std::multiset<std::pair<std::string, std::string>> containers;
      for (const auto& c : pod.containers) containers.emplace(c.name, c.id);
      CHECK(containers == expected[i].containers);
    }
  }
}

TEST_CASE("the API server's resourceVersion is kept and the kubelet's absent one is empty", "[k8s][pods]") {
  CHECK(must_parse(whole_file(pod_fixture("apiserver_podlist_k8s1.2_docker.json"))).resource_version == "228211");
  CHECK(must_parse(whole_file(pod_fixture("nr_k8s1.31_containerd1.7_kind.json"))).resource_version.empty());
}

TEST_CASE("static pods keep their 32-hex uid and pending ones have no containers", "[k8s][pods]") {
  const auto list = must_parse(whole_file(pod_fixture("dd_podlist_1.8_docker_static_pending.json")));
  REQUIRE(list.pods.size() == 7);
  CHECK(list.pods[0].uid == "0a8863810b43d4d891fab0af80e28e4c");
  CHECK(list.pods[0].containers.empty());
  CHECK(list.pods[6].uid == "260c2b1d43b094af6d6b4ccba082c2db");
}

TEST_CASE("only the status-level containerID counts, not lastState's or state's own", "[k8s][pods]") {
  const auto list = must_parse(whole_file(pod_fixture("dd_podlist_init_container_terminated_containerd.json")));
  for (const auto& pod : list.pods)
    for (const auto& c : pod.containers) {
      // the restarted kube-scheduler's previous container, named only in lastState.terminated
      CHECK(c.id != "cbeb7e0c866f6f7de6225f994b5253cc15109248e50aa98673b097970fe556b8");
      CHECK(c.id.size() == 64);
    }
  // cri-o: the terminated state repeats the status-level id; it is listed once
  const auto crio = must_parse(whole_file(pod_fixture("nvsentinel_podlist_crio_k8s1.3x.json")));
  REQUIRE(crio.pods.size() == 2);
  REQUIRE(crio.pods[1].containers.size() == 1);
  CHECK(crio.pods[1].containers[0].id == "ae3d47d68b827997ff77097f1dc1f63df19ddf706512043c356d20efa5b2463a");
}

TEST_CASE("regular, ephemeral and init statuses are all read, in that order", "[k8s][pods]") {
  const auto list = must_parse(pod_list_with_status(
      R"({"phase":"Running","initContainerStatuses":[{"name":"setup","containerID":"containerd://)" + id_a +
      R"("}],"ephemeralContainerStatuses":[{"name":"debugger-x7k2p","containerID":"cri-o://)" + id_b +
      R"("}],"containerStatuses":[{"name":"web","containerID":"docker://)" + id_a.substr(0, 60) + "beef" + R"("}]})"));
  REQUIRE(list.pods.size() == 1);
  const auto& c = list.pods[0].containers;
  REQUIRE(c.size() == 3);
  CHECK(c[0].name == "web");
  CHECK(c[0].id == id_a.substr(0, 60) + "beef");
  CHECK(c[1].name == "debugger-x7k2p");
  CHECK(c[1].id == id_b);
  CHECK(c[2].name == "setup");
  CHECK(c[2].id == id_a);
}

TEST_CASE("statuses without a container id, and absent or null lists, add no containers", "[k8s][pods]") {
  for (const char* status :
       {R"({"phase":"Pending"})", "null", R"({"containerStatuses":null,"initContainerStatuses":[]})",
        R"({"containerStatuses":[{"name":"web","state":{"waiting":{"reason":"ContainerCreating"}}}]})",
        R"({"containerStatuses":[{"name":"web","containerID":""}]})",
        R"({"containerStatuses":[{"name":"web","containerID":null}]})",
        R"({"containerStatuses":[{"name":"web","containerID":"containerd://"}]})"}) {
    INFO(status);
    const auto list = must_parse(pod_list_with_status(status));
    REQUIRE(list.pods.size() == 1);
    CHECK(list.pods[0].containers.empty());
  }
  // a pod without any status member at all
  const auto bare =
      must_parse(R"({"kind":"PodList","items":[{"metadata":{"name":"a","namespace":"b","uid":"c"},"spec":{}}]})");
  REQUIRE(bare.pods.size() == 1);
  CHECK(bare.pods[0].containers.empty());
}

TEST_CASE("a container id without a runtime prefix is kept as it is", "[k8s][pods]") {
  const auto list =
      must_parse(pod_list_with_status(R"({"containerStatuses":[{"name":"web","containerID":")" + id_a + R"("}]})"));
  REQUIRE(list.pods[0].containers.size() == 1);
  CHECK(list.pods[0].containers[0].id == id_a);
}

TEST_CASE("null, missing and empty items are an empty pod list", "[k8s][pods]") {
  for (const char* json : {R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":null})",
                           R"({"kind":"PodList","apiVersion":"v1","metadata":{}})", R"({"items":[]})",
                           " \n{\"kind\":\"PodList\",\"metadata\":null}\r\n"}) {
    INFO(json);
    CHECK(must_parse(json).pods.empty());
  }
}

TEST_CASE("documents that are not a pod list are errors that say what they are", "[k8s][pods][errors]") {
  CHECK(parse_error("[]") == "pod list: the document is an array, not a PodList object");
  CHECK(parse_error(R"("PodList")") == "pod list: the document is a string, not a PodList object");
  CHECK(parse_error("42") == "pod list: the document is a number, not a PodList object");
  CHECK(parse_error("null") == "pod list: the document is null, not a PodList object");
  CHECK(parse_error(R"({"kind":"Pod","metadata":{"name":"x"}})") == "pod list: kind is \"Pod\", not \"PodList\"");
  // the body the API server sends with a 403 when the service account lacks RBAC
  CHECK(
      parse_error(
          R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
          R"("message":"pods is forbidden: User \"system:serviceaccount:kepler:kepler\" cannot list resource \"pods\"",)"
          R"("reason":"Forbidden","details":{"kind":"pods"},"code":403})") ==
      "pod list: the server answered with a Status instead of a PodList: 403 Forbidden: pods is forbidden: User "
      "\"system:serviceaccount:kepler:kepler\" cannot list resource \"pods\"");
}

TEST_CASE("invalid JSON is an error, wherever a real response is cut off", "[k8s][pods][errors]") {
  CHECK(parse_error("").starts_with("pod list: not valid JSON: "));
  CHECK(parse_error("   ").starts_with("pod list: not valid JSON: "));
  CHECK(parse_error(R"({"items":[]} {"items":[]})").starts_with("pod list: not valid JSON: "));
  CHECK(
      parse_error("{\"kind\":\"PodList\",\"items\":[],\"x\":\"\xff\xfe\"}").starts_with("pod list: not valid JSON: "));
  CHECK(parse_error(std::string(100'000, '[')).starts_with("pod list: not valid JSON: "));

  const auto full = whole_file(pod_fixture("dd_podlist_init_container_terminated_containerd.json"));
  const auto end = full.find_last_of('}');
  for (std::size_t cut = 0; cut < end; cut += 397) {
    INFO("cut at byte " << cut);
    CHECK(parse_error(full.substr(0, cut)).starts_with("pod list: not valid JSON: "));
  }
  CHECK(parse_error(full.substr(0, end)).starts_with("pod list: not valid JSON: "));
}

TEST_CASE("a field of the wrong type or missing is an error naming its path", "[k8s][pods][errors]") {
  const auto real = whole_file(pod_fixture("nr_k8s1.31_containerd1.7_kind.json"));
  CHECK(parse_error(replace_once(real, R"("uid":"609e38a6-792f-4cdd-917d-9445c25a75a9")", R"("uid":42)")) ==
        "pod list: items[3].metadata.uid is a number, not a string");
  CHECK(parse_error(replace_once(real, R"("uid":"609e38a6-792f-4cdd-917d-9445c25a75a9",)", "")) ==
        "pod list: items[3].metadata.uid is missing");
  CHECK(parse_error(replace_once(real, R"("name":"e2e-statefulset-1",)", R"("name":"",)")) ==
        "pod list: items[3].metadata.name is empty");

  CHECK(parse_error(R"({"kind":"PodList","items":{}})") == "pod list: items is an object, not an array");
  CHECK(parse_error(R"({"kind":"PodList","items":[{"metadata":{"name":"a","namespace":"b","uid":"c"}},"pod"]})") ==
        "pod list: items[1] is a string, not an object");
  CHECK(parse_error(R"({"items":[{"spec":{}}]})") == "pod list: items[0].metadata is missing");
  CHECK(parse_error(R"({"items":[{"metadata":{"name":"a","uid":"c"}}]})") ==
        "pod list: items[0].metadata.namespace is missing");
  CHECK(parse_error(R"({"kind":7})") == "pod list: kind is a number, not a string");
  CHECK(parse_error(R"({"metadata":{"resourceVersion":12}})") ==
        "pod list: metadata.resourceVersion is a number, not a string");
  CHECK(parse_error(pod_list_with_status("[]")) == "pod list: items[0].status is an array, not an object");
  CHECK(parse_error(pod_list_with_status(R"({"containerStatuses":{"name":"web"}})")) ==
        "pod list: items[0].status.containerStatuses is an object, not an array");
  CHECK(parse_error(pod_list_with_status(R"({"initContainerStatuses":[{"name":"a","containerID":"docker://1"},7]})")) ==
        "pod list: items[0].status.initContainerStatuses[1] is a number, not an object");
  CHECK(parse_error(pod_list_with_status(R"({"containerStatuses":[{"containerID":true}]})")) ==
        "pod list: items[0].status.containerStatuses[0].containerID is a boolean, not a string");
  CHECK(parse_error(pod_list_with_status(R"({"containerStatuses":[{"containerID":"docker://1"}]})")) ==
        "pod list: items[0].status.containerStatuses[0].name is missing");
}

TEST_CASE("the pod and container limits are enforced with an error naming them", "[k8s][pods][errors]") {
  const auto minikube = whole_file(pod_fixture("nr_k8s1.16_docker_minikube.json"));  // 16 pods
  CHECK(must_parse(minikube, {.max_pods = 16}).pods.size() == 16);
  CHECK(parse_error(minikube, {.max_pods = 15}) == "pod list: items has 16 pods, more than max_pods (15)");

  const auto kind = whole_file(pod_fixture("nr_k8s1.28_containerd1.6_kind.json"));  // item 1 has two containers
  CHECK(must_parse(kind, {.max_containers_per_pod = 2}).pods[1].containers.size() == 2);
  CHECK(parse_error(kind, {.max_containers_per_pod = 1}) ==
        "pod list: items[1] has more than 1 container ids (max_containers_per_pod)");
}

TEST_CASE("the watch stream capture parses line by line; only the 4th event has the container", "[k8s][watch]") {
  const auto lines = file_lines(pod_fixture("apiserver_watch_pods_k8s1.2_docker_raw.jsonl"));
  const auto expected = read_fixture_tsv(pod_fixture("apiserver_watch_pods_k8s1.2_docker_raw.expected.tsv"));
  REQUIRE(lines.size() == 4);
  REQUIRE(expected.size() == lines.size());
  const std::map<std::string, watch_event::kind> kinds{{"ADDED", watch_event::kind::added},
                                                       {"MODIFIED", watch_event::kind::modified}};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO("line " << i + 1);
    const auto& row = expected[i];
    const auto event = must_parse_event(lines[i]);
    CHECK(event.type == kinds.at(row.at("type")));
    CHECK(event.resource_version == row.at("resourceVersion"));
    CHECK(event.pod.uid == row.at("pod_uid"));
    CHECK(event.pod.name == row.at("pod"));
    CHECK(event.pod.namespace_name == row.at("namespace"));
    if (row.at("container_id").empty()) {
      CHECK(event.pod.containers.empty());
    } else {
      REQUIRE(event.pod.containers.size() == 1);
      CHECK(event.pod.containers[0].name == row.at("container"));
      CHECK(event.pod.containers[0].id == row.at("container_id"));
    }
  }
  CHECK(must_parse_event(lines[3]).pod.containers.size() == 1);
  CHECK(must_parse_event(lines[3] + "\r\n").pod.containers.size() == 1);
}

TEST_CASE("DELETED, BOOKMARK and ERROR events carry what the watcher needs", "[k8s][watch]") {
  const auto lines = file_lines(pod_fixture("apiserver_watch_pods_k8s1.2_docker_raw.jsonl"));
  const auto deleted = must_parse_event(replace_once(lines[3], R"({"type":"MODIFIED")", R"({"type":"DELETED")"));
  CHECK(deleted.type == watch_event::kind::deleted);
  CHECK(deleted.pod.uid == "090cc0c8-ea84-11e5-8c79-42010af00003");
  CHECK(deleted.pod.containers.size() == 1);

  const auto bookmark = must_parse_event(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12746",)"
      R"("annotations":{"k8s.io/initial-events-end":"true"}},"spec":{"containers":null},"status":{}}})");
  CHECK(bookmark.type == watch_event::kind::bookmark);
  CHECK(bookmark.resource_version == "12746");
  CHECK(bookmark.pod.uid.empty());

  const auto expired = must_parse_event(
      R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
      R"j("message":"too old resource version: 228082 (228211)","reason":"Expired","code":410}})j");
  CHECK(expired.type == watch_event::kind::error);
  CHECK(expired.error_code == 410);
  CHECK(expired.error_message == "too old resource version: 228082 (228211)");
}

TEST_CASE("malformed watch events are errors naming the problem", "[k8s][watch][errors]") {
  CHECK(watch_error(R"({"type":"SYNC","object":{}})") ==
        "watch event: type \"SYNC\" is not ADDED, MODIFIED, DELETED, BOOKMARK or ERROR");
  CHECK(watch_error(R"({"object":{}})") == "watch event: type is missing");
  CHECK(watch_error(R"({"type":1,"object":{}})") == "watch event: type is a number, not a string");
  CHECK(watch_error(R"({"type":"ADDED"})") == "watch event: object is missing");
  CHECK(watch_error(R"({"type":"ADDED","object":"pod"})") == "watch event: object is a string, not an object");
  CHECK(watch_error(R"({"type":"ADDED","object":{"metadata":{"name":"a","namespace":"b"}}})") ==
        "watch event: object.metadata.uid is missing");
  CHECK(watch_error(R"({"type":"BOOKMARK","object":{"metadata":{}}})") ==
        "watch event: object.metadata.resourceVersion is missing");
  CHECK(watch_error(R"({"type":"ERROR","object":{"code":"410"}})") ==
        "watch event: object.code is a string, not an integer");
  CHECK(watch_error("[]") == "watch event: the document is an array, not a watch event object");
  CHECK(watch_error(R"({"type":"ADDED","object":{}}{"type":"ADDED","object":{}})")
            .starts_with("watch event: not valid JSON: "));
  CHECK(watch_error(R"({"type":"ADDED","obj)").starts_with("watch event: not valid JSON: "));
}
