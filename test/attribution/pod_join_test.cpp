// Container ids read from real cgroup files join the pods of a real pod list captured on the
// same node: the join behind kube_labels (container identity from sensors/, pod index from k8s/).

#include <catch2/catch.hpp>
#include <regex>
#include <string>
#include <vector>

#include "k8s/pod_index.hpp"
#include "sensors/proc/container_identity.hpp"
#include "test/k8s/pod_fixtures.hpp"
#include "test/sensors/proc/cgroup_fixtures.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

std::vector<pod_record> fixture_pods(const std::string& path) {
  auto parsed = parse_pod_list(whole_file(path));
  INFO(path << ": " << (parsed ? std::string() : parsed.error_message()));
  REQUIRE(parsed.ok());
  return std::move(parsed).value().pods;
}

/// The kubelet-pods file a cadvisor table was captured with (named in its first comment line).
std::string paired_pod_list(const std::string& table) {
  std::smatch match;
  const auto comment = file_lines(table).front();
  REQUIRE(std::regex_search(comment, match, std::regex(R"(\.\./kubelet-pods/(\S+\.json))")));
  return pod_fixture(match[1]);
}

}  // namespace

TEST_CASE("container ids read from the cgroups of the same node join to their pods; sandboxes do not",
          "[k8s][pod_index]") {
  int tables = 0, joined = 0, sandboxes = 0;
  for (const char* name :
       {"cadvisor_ids_k8s1.16_docker_systemd.expected.tsv", "cadvisor_ids_k8s1.22_containerd_cgroupfs.expected.tsv",
        "cadvisor_ids_k8s1.31_containerd_cgroupfs.expected.tsv"}) {
    ++tables;
    const auto table = cgroup_fixture(name);
    const pod_index index(fixture_pods(paired_pod_list(table)));
    for (const auto& row : read_fixture_tsv(table)) {
      INFO(row.at("path"));
      if (row.at("level") == "pod") CHECK(index.find_pod(row.at("pod_uid")) != nullptr);
      if (row.at("level") != "container") continue;
      const auto identity = parse_cgroup_path(row.at("path"));
      REQUIRE(identity.id == row.at("container_id"));
      const auto* found = index.find_container(identity.id);
      if (row.at("in_podlist") == "sandbox") {
        ++sandboxes;
        CHECK(found == nullptr);
        continue;
      }
      ++joined;
      REQUIRE(found != nullptr);
      CHECK(found->pod_uid == identity.pod_uid);  // static pods: the 32-hex hash on both sides
      CHECK(found->pod_namespace == row.at("namespace"));
      CHECK(found->pod_name == row.at("pod"));
      CHECK(found->container_name == row.at("container"));
    }
  }
  CHECK(tables == 3);
  CHECK(joined == 15 + 17 + 17);
  CHECK(sandboxes > 0);
}
