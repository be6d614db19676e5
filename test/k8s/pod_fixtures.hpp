#pragma once
// The kubelet /pods fixtures (test/fixtures/kubelet-pods) and what their
// `.expected.tsv` tables say each PodList holds.

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "test/support/fixture_tsv.hpp"

namespace kepler::test {

/// Path of a file in the kubelet-pods fixtures.
inline std::string pod_fixture(const std::string& name) {
  return std::string(KEPLER_FIXTURES_DIR) + "/kubelet-pods/" + name;
}

/// Every `X.json` that has an `X.expected.tsv` beside it (the path without `.json`), sorted.
inline std::vector<std::string> pod_list_fixtures() {
  std::vector<std::string> stems;
  for (const auto& entry : std::filesystem::directory_iterator(pod_fixture(""))) {
    const auto path = entry.path();
    if (path.extension() != ".json") continue;
    auto stem = path;
    stem.replace_extension();
    if (std::filesystem::exists(stem.string() + ".expected.tsv")) stems.push_back(stem.string());
  }
  std::sort(stems.begin(), stems.end());
  return stems;
}

/// One pod as its fixture table lists it: (container name, bare id) of statuses with an id.
struct expected_pod {
  std::string uid, name, namespace_name;
  std::multiset<std::pair<std::string, std::string>> containers;
};

/// The pods of `<stem>.expected.tsv` in item order (one row per container status, or one
/// row with kind `-` for a pod without statuses).
inline std::vector<expected_pod> expected_pods(const std::string& stem) {
  std::vector<expected_pod> pods;
  for (const auto& row : read_fixture_tsv(stem + ".expected.tsv")) {
    const auto item = std::stoul(row.at("item"));
    if (item >= pods.size()) pods.resize(item + 1);
    auto& pod = pods[item];
    pod.uid = row.at("pod_uid");
    pod.name = row.at("pod");
    pod.namespace_name = row.at("namespace");
    if (!row.at("container_id").empty()) pod.containers.emplace(row.at("container"), row.at("container_id"));
  }
  return pods;
}

}  // namespace kepler::test
