// Cost of a pod refresh: parse_pod_list on a kubelet /pods response of 500 pods, then
// building the pod_index the engine uses. Budgets (issue #5): ≤ 20 ms per refresh (median),
// and ≤ 2 MiB for the index (its own estimate, checked against glibc's count).
// The 500 pods are the fixture pods that have containers (the fixtures, test/fixtures/kubelet-pods:
// full pod JSON as the kubelet sends it), replicated round-robin with new uids, names and
// container ids; replica k also gets k % 4 sidecars (copies of its first container in spec
// and status), so pods hold 1 to 5 containers, about 2.6 on average.
//
// Usage: pod_parse_bench [fixtures_dir=<repo>/test/fixtures] [pods=500] [rounds=50]

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "k8s/pod_index.hpp"
#include "test/support/heap_usage.hpp"

using namespace kepler;

namespace {

/// One fixture pod: its JSON text (minified) and what parse_pod_list read from it.
struct template_pod {
  std::string json;
  std::string first_status_json;  ///< status.containerStatuses[0]
  std::string first_spec_json;    ///< spec.containers[0]
  pod_record record;
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::string hex8(std::size_t value) {
  char out[9];
  std::snprintf(out, sizeof out, "%08zx", value & 0xffffffff);
  return out;
}

/// Pods of every fixture PodList with a regular container id, as templates.
std::vector<template_pod> load_templates(const std::filesystem::path& dir) {
  std::vector<template_pod> templates;
  simdjson::dom::parser parser;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "kubelet-pods")) {
    if (entry.path().extension() != ".json") continue;
    const auto text = slurp(entry.path());
    auto parsed = parse_pod_list(text);
    simdjson::dom::element doc;
    if (!parsed || parser.parse(text).get(doc) != simdjson::SUCCESS) continue;
    std::size_t i = 0;
    for (simdjson::dom::element item : doc["items"].get_array()) {
      auto record = parsed.value().pods.at(i++);
      simdjson::dom::element status, spec;
      if (item.at_pointer("/status/containerStatuses/0/containerID").error() != simdjson::SUCCESS) continue;
      if (item.at_pointer("/status/containerStatuses/0").get(status) != simdjson::SUCCESS ||
          item.at_pointer("/spec/containers/0").get(spec) != simdjson::SUCCESS)
        continue;
      templates.push_back(
          {simdjson::minify(item), simdjson::minify(status), simdjson::minify(spec), std::move(record)});
    }
  }
  return templates;
}

/// Copy k of a template: new uid, pod name and container ids, plus `sidecars` extra containers.
std::string replica(const template_pod& pod, std::size_t k, std::size_t sidecars, std::size_t& containers) {
  const auto prefix = hex8(k);
  std::string json = pod.json;
  std::string extra_status, extra_spec;
  const auto& first = pod.record.containers.front();
  for (std::size_t s = 1; s <= sidecars; ++s) {
    const auto name = "\"name\":\"" + first.name + "-sidecar-" + std::to_string(s) + "\"";
    const auto id = first.id.substr(0, 60) + hex8(s).substr(4);
    extra_status +=
        replace_all(replace_all(pod.first_status_json, "\"name\":\"" + first.name + "\"", name), first.id, id) + ",";
    extra_spec += replace_all(pod.first_spec_json, "\"name\":\"" + first.name + "\"", name) + ",";
  }
  json.insert(json.find("\"containerStatuses\":[") + 21, extra_status);
  json.insert(json.find("\"containers\":[") + 14, extra_spec);
  // ids last, so the sidecars' ids (which keep the first id's 60-char prefix) change too
  json = replace_all(json, pod.record.uid, prefix + pod.record.uid.substr(8));
  json = replace_all(json, "\"" + pod.record.name + "\"", "\"" + pod.record.name + "-r" + std::to_string(k) + "\"");
  for (const auto& c : pod.record.containers) json = replace_all(json, c.id.substr(0, 8), prefix);
  containers += pod.record.containers.size() + sidecars;
  return json;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir =
      argc > 1 ? std::filesystem::path(argv[1]) : std::filesystem::path(__FILE__).parent_path() / "../test/fixtures";
  const std::size_t pod_count = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 500;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 50;
  const auto templates = load_templates(dir);
  if (templates.size() < 20 || pod_count == 0 || rounds <= 0) {
    std::fprintf(stderr, "need the kubelet-pods fixtures under %s (found %zu pods)\n", dir.c_str(), templates.size());
    return 1;
  }

  std::string doc = R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[)";
  std::size_t containers = 0;
  for (std::size_t k = 0; k < pod_count; ++k)
    doc += (k ? "," : "") + replica(templates[k % templates.size()], k, k % 4, containers);
  doc += "]}";

  // The document must read back as exactly what was built: no id collides, none is lost.
  auto check = parse_pod_list(doc);
  if (!check) {
    std::fprintf(stderr, "generated list does not parse: %s\n", check.error_message().c_str());
    return 1;
  }
  const pod_index check_index(check.value().pods);
  if (check_index.pod_count() != pod_count || check_index.container_count() != containers ||
      check_index.ambiguous_ids() != 0) {
    std::fprintf(stderr, "generated list: %zu pods, %zu ids, %zu ambiguous; expected %zu pods, %zu ids\n",
                 check_index.pod_count(), check_index.container_count(), check_index.ambiguous_ids(), pod_count,
                 containers);
    return 1;
  }

  using clock = std::chrono::steady_clock;
  std::vector<double> parse_ms, index_ms, total_ms;
  std::size_t sink = 0;
  for (int r = 0; r < rounds; ++r) {
    const auto start = clock::now();
    auto list = parse_pod_list(doc);
    const auto parsed = clock::now();
    const pod_index index(list.value().pods);
    const auto built = clock::now();
    sink += index.container_count();
    parse_ms.push_back(std::chrono::duration<double, std::milli>(parsed - start).count());
    index_ms.push_back(std::chrono::duration<double, std::milli>(built - parsed).count());
    total_ms.push_back(std::chrono::duration<double, std::milli>(built - start).count());
  }

  std::optional<pod_index> index;
  const auto& pods = check.value().pods;
  const auto allocated = kepler::testing::heap_growth([&] { index.emplace(pods); });
  const auto estimate = index->memory_bytes();
  // parse_pod_list's working memory, freed when it returns: simdjson's DOM (tape and strings)
  simdjson::dom::parser dom;
  const auto dom_bytes = kepler::testing::heap_growth([&] { (void)dom.parse(doc).error(); });

  std::printf("pod list: %zu pods, %zu container ids (%.2f per pod), %.2f MB of JSON, %d rounds\n", pod_count,
              containers, double(containers) / double(pod_count), double(doc.size()) / 1e6, rounds);
  std::printf("parse_pod_list: median %.2f ms (%.2f GB/s); pod_index: median %.2f ms\n", median(parse_ms),
              double(doc.size()) / median(parse_ms) / 1e6, median(index_ms));
  std::printf("parse + index: median %.2f ms  [budget 20 ms]\n", median(total_ms));
  std::printf("index memory: memory_bytes %.1f KiB, glibc heap growth %.1f KiB  [budget 2048 KiB]\n",
              double(estimate) / 1024, double(allocated) / 1024);
  std::printf("parse working memory (transient): simdjson DOM %.1f MiB for %.2f MB of JSON\n",
              double(dom_bytes) / (1024 * 1024), double(doc.size()) / 1e6);
  std::printf("checksum %zu\n", sink);
  return median(total_ms) <= 20.0 && std::max(estimate, allocated) <= 2 * 1024 * 1024 ? 0 : 2;
}
