// Every shared cgroup fixture yields the container id, runtime and pod uid its tables state.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "sensors/proc/container_identity.hpp"
#include "test/sensors/proc/cgroup_fixtures.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

/// Kepler's runtime label for the runtime column of cases.tsv; "" = no container expected.
std::string kepler_runtime(const std::string& fixture_runtime) {
  if (fixture_runtime == "cri-o") return "crio";
  // Kubepods cgroupfs paths do not encode the runtime; Kepler labels them "kubernetes".
  if (fixture_runtime.starts_with("kubepods")) return "kubernetes";
  // Cloud Foundry garden ids match none of Kepler's patterns (docs/compatibility.md §4.4): not a container.
  if (fixture_runtime == "none" || fixture_runtime == "garden") return "";
  return fixture_runtime;
}

/// The third field of a `hierarchy:controllers:path` line.
std::string path_of_line(const std::string& line) {
  const auto c1 = line.find(':');
  return line.substr(line.find(':', c1 + 1) + 1);
}

}  // namespace

TEST_CASE("every case of cases.tsv yields its container id, runtime and pod uid", "[k8s][cgroup]") {
  const auto rows = read_fixture_tsv(cgroup_fixture("cases.tsv"));
  REQUIRE(rows.size() >= 45);
  for (const auto& row : rows) {
    const auto& file = row.at("file");
    INFO(file << " (" << row.at("notes") << ")");
    const auto content = whole_file(cgroup_fixture(file));
    const auto& form = row.at("form");
    const auto got =
        form == "path-only" ? parse_cgroup_path(content.substr(0, content.find('\n'))) : parse_cgroup_file(content);
    const auto runtime = kepler_runtime(row.at("runtime"));
    CHECK(got.runtime == runtime);
    CHECK(got.id == (runtime.empty() ? "" : or_empty(row.at("container_id"))));
    CHECK(got.pod_uid == or_empty(row.at("pod_uid")));
    if (form == "proc-line") {
      // The same line's path on its own gives the same answer.
      const auto alone = parse_cgroup_path(path_of_line(content.substr(0, content.find('\n'))));
      CHECK(alone.id == got.id);
      CHECK(alone.runtime == got.runtime);
      CHECK(alone.pod_uid == got.pod_uid);
    }
  }
}

TEST_CASE("every .cgroup fixture on disk has a row in cases.tsv", "[k8s][cgroup]") {
  std::set<std::string> listed;
  for (const auto& row : read_fixture_tsv(cgroup_fixture("cases.tsv"))) listed.insert(row.at("file"));
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(cgroup_fixture(""))) {
    if (entry.path().extension() != ".cgroup") continue;
    ++seen;
    INFO(entry.path().filename().string());
    CHECK(listed.count(entry.path().filename().string()) == 1);
  }
  CHECK(seen == static_cast<int>(listed.size()));
}

TEST_CASE("a Cloud Foundry garden id is not one of Kepler's runtimes and is not reported", "[k8s][cgroup]") {
  const auto got = parse_cgroup_file(whole_file(cgroup_fixture("dd_garden_cloudfoundry_v1.cgroup")));
  CHECK_FALSE(got.is_container());
  CHECK(got.runtime.empty());
}

TEST_CASE("every path of the cAdvisor listings yields the level the expected tables state", "[k8s][cgroup]") {
  for (const std::string stem : {"cadvisor_ids_k8s1.16_docker_systemd", "cadvisor_ids_k8s1.22_containerd_cgroupfs",
                                 "cadvisor_ids_k8s1.31_containerd_cgroupfs"}) {
    const auto rows = read_fixture_tsv(cgroup_fixture(stem + ".expected.tsv"));
    const auto listing = file_lines(cgroup_fixture(stem + ".txt"));
    REQUIRE(rows.size() == listing.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      const auto& path = row.at("path");
      INFO(stem << ": " << path);
      CHECK(listing[i] == path);
      const auto got = parse_cgroup_path(path);
      const auto id = or_empty(row.at("container_id"));
      CHECK(got.id == id);
      CHECK(got.pod_uid == or_empty(row.at("pod_uid")));
      // The table's runtime is the node's (from its PodList); a cgroupfs path does not carry
      // it, so Kepler reports "kubernetes" there.
      const bool cgroupfs = path.starts_with("/kubepods/");
      CHECK(got.runtime == (id.empty() ? "" : cgroupfs ? "kubernetes" : row.at("runtime")));
      // As the unified line of a /proc/<pid>/cgroup file it is the same.
      const auto as_file = parse_cgroup_file("0::" + path + "\n");
      CHECK(as_file.id == got.id);
      CHECK(as_file.runtime == got.runtime);
      CHECK(as_file.pod_uid == got.pod_uid);
    }
  }
}

TEST_CASE("every scope of the pixie v1 tree names its runtime, id and pod", "[k8s][cgroup]") {
  // No expected table: the last segment is `<prefix>-<id>.scope` and the pod slice above it
  // `…-pod<uid with _>.slice`, so the expectation is read off the path by plain string work.
  const std::map<std::string, std::string> runtime_of_prefix = {{"docker", "docker"},
                                                                {"cri-containerd", "containerd"},
                                                                {"crio", "crio"}};
  int containers = 0;
  std::set<std::string> runtimes_of_shared_id;
  for (const auto& line : file_lines(cgroup_fixture("pixie_v1_cpuacct_tree_systemd.txt"))) {
    INFO(line);
    const auto got = parse_cgroup_path(line);
    const auto last = line.substr(line.rfind('/') + 1);
    std::string pod;
    if (const auto p = line.find("-pod"); p != std::string::npos) {
      pod = line.substr(p + 4, line.find(".slice", p) - p - 4);
      std::replace(pod.begin(), pod.end(), '_', '-');
    }
    CHECK(got.pod_uid == pod);
    if (!last.ends_with(".scope")) {
      CHECK_FALSE(got.is_container());
      continue;
    }
    ++containers;
    const auto dash = last.rfind('-');
    CHECK(got.id == last.substr(dash + 1, 64));
    CHECK(got.runtime == runtime_of_prefix.at(last.substr(0, dash)));
    if (got.id.starts_with("2b41fe4b")) runtimes_of_shared_id.insert(got.runtime);
  }
  CHECK(containers == 13);
  CHECK(runtimes_of_shared_id == std::set<std::string>{"containerd", "crio", "docker"});
}
