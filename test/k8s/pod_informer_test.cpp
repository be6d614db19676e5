// The pod informer's policy on its own: which kubelet endpoint, how failures are counted and
// logged, how retries back off, what health it reports; against fake kubelets and API servers.
#include "k8s/pod_informer.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "test/k8s/kube_server_fixture.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;

namespace {

/// An informer that records what it publishes and logs, with a fixed clock and no jitter.
struct recording_informer {
  std::vector<std::pair<pod_index_ptr, kube_health>> updates;
  std::vector<log_note> notes;
  pod_informer informer;

  recording_informer(kube_settings settings, in_cluster_env cluster = {})
      : informer(
            std::move(settings), std::move(cluster),
            [this](pod_index_ptr index, const kube_health& health) { updates.emplace_back(std::move(index), health); },
            [this](const log_note& note) { notes.push_back(note); }, [] { return 0.5; }, [] { return 1.7e9; }) {}

  std::chrono::milliseconds step() {
    return informer.step([] { return false; });
  }
  std::vector<std::string> warnings() const {
    std::vector<std::string> texts;
    for (const auto& note : notes)
      if (note.warning) texts.push_back(note.text);
    return texts;
  }
};

/// A kubelet at `server` with a token file in `dir`, polled every 10 s.
kube_settings kubelet_settings(const fake_kube_server& server, const temp_dir& dir) {
  dir.write("token", "kubelet-token");
  kube_settings settings;
  settings.enabled = true;
  settings.node_name = "node-1";
  settings.kubelet_endpoint = server.url();
  settings.kubelet_token_file = dir.path("token");
  settings.kubelet_ca_file = test_certs::shared().ca_cert;
  settings.poll_interval = 10s;
  return settings;
}

uint64_t errors_of(const kube_health& health, const std::string& kind) {
  for (const auto& error : health.errors)
    if (error.kind == kind) return error.count;
  return 0;
}

}  // namespace

TEST_CASE("the informer starts down, and a good poll publishes the pods and waits the poll interval") {
  temp_dir dir;
  auto server = tls_server();
  server->require_token("kubelet-token");
  server->on("/pods", fake_response::json(pods_fixture_text("nr_k8s1.31_containerd1.7_kind.json")));
  recording_informer rec(kubelet_settings(*server, dir));
  rec.informer.start();
  REQUIRE(rec.updates.size() == 1);
  CHECK_FALSE(rec.updates[0].first);
  CHECK_FALSE(rec.updates[0].second.up);
  CHECK(rec.updates[0].second.mode == "kubelet");

  CHECK(rec.step() == 10s);
  REQUIRE(rec.updates.size() == 2);
  REQUIRE(rec.updates[1].first);
  CHECK(rec.updates[1].first->pod_count() == 23);
  const auto& health = rec.updates[1].second;
  CHECK(health.up);
  CHECK(health.pods == 23);
  CHECK(health.last_success_seconds == 1.7e9);
  CHECK(health.errors.empty());
  CHECK(rec.warnings().empty());
}

TEST_CASE("failures keep the last pods, are counted by kind, logged once each, and back off until they clear") {
  temp_dir dir;
  auto server = tls_server();
  server->require_token("kubelet-token");
  server->on("/pods", fake_response::json(pods_fixture_text("nr_k8s1.31_containerd1.7_kind.json")));
  recording_informer rec(kubelet_settings(*server, dir));
  rec.step();
  for (int i = 0; i < 3; ++i) server->queue("/pods", fake_response::json(R"({"kind":"Status","code":500})", 500));

  CHECK(rec.step() == 1000ms);  // 1 s, doubling; the jitter draw of 0.5 changes nothing
  CHECK(rec.step() == 2000ms);
  CHECK(rec.step() == 4000ms);
  const auto& failed = rec.updates.back();
  CHECK_FALSE(failed.first);  // no new index: the engine keeps the last one
  CHECK_FALSE(failed.second.up);
  CHECK(failed.second.pods == 23);
  CHECK(errors_of(failed.second, "http_status") == 3);
  auto warnings = rec.warnings();
  REQUIRE(warnings.size() == 1);  // the same problem three times: one line
  CHECK_THAT(warnings[0], Catch::Contains("pod source kubelet:"));
  CHECK_THAT(warnings[0], Catch::Contains("(http_status); keeping the last pod list (23 pods)"));

  CHECK(rec.step() == 10s);  // recovered: back to the poll interval, the backoff reset
  CHECK(rec.updates.back().second.up);
  CHECK(errors_of(rec.updates.back().second, "http_status") == 3);  // counted for good
  CHECK(rec.notes.back().text == "pod source kubelet: synced again (23 pods)");
  server->queue("/pods", fake_response::json(R"({"kind":"Status","code":500})", 500));
  CHECK(rec.step() == 1000ms);  // a new failure starts the backoff from its first step
}

TEST_CASE("a refused token is an auth error, a missing token file a token_file error") {
  temp_dir dir;
  auto server = tls_server();
  server->require_token("another-token");
  server->on("/pods", fake_response::json(pods_fixture_text("dd_podlist_empty.json")));
  auto settings = kubelet_settings(*server, dir);
  recording_informer refused(settings);
  refused.step();
  CHECK(errors_of(refused.updates.back().second, "auth") == 1);

  settings.kubelet_token_file = dir.path("missing-token");
  recording_informer missing(settings);
  missing.step();
  CHECK(errors_of(missing.updates.back().second, "token_file") == 1);
}

TEST_CASE("without an endpoint the kubelet is found at NODE_IP, else through the Node object") {
  temp_dir dir;
  dir.write("token", "sa-token");
  dir.write("ca.crt", whole_file(test_certs::shared().ca_cert));
  kube_settings settings;
  settings.enabled = true;
  settings.node_name = "kind-worker";
  settings.kubelet_token_file = dir.path("token");
  settings.kubelet_ca_file = test_certs::shared().ca_cert;

  ::setenv("NODE_IP", "127.0.0.1", 1);
  recording_informer from_env(settings);
  from_env.step();
  ::unsetenv("NODE_IP");
  REQUIRE_FALSE(from_env.notes.empty());
  CHECK(from_env.notes.front().text == "pod source kubelet: polling https://127.0.0.1:10250/pods every 15 s");

  auto api = tls_server();
  api->require_token("sa-token");
  api->on("/api/v1/nodes/kind-worker",
          fake_response::json(R"({"kind":"Node","status":{"addresses":[{"type":"InternalIP","address":"127.0.0.1"}],
            "daemonEndpoints":{"kubeletEndpoint":{"Port":10250}}}})"));
  recording_informer from_node(settings, in_cluster_env{"127.0.0.1", std::to_string(api->port()), dir.root()});
  from_node.step();
  REQUIRE_FALSE(from_node.notes.empty());
  CHECK(from_node.notes.front().text == "pod source kubelet: polling https://127.0.0.1:10250/pods every 15 s");
  REQUIRE(api->requests().size() == 1);
  CHECK(api->requests()[0].path == "/api/v1/nodes/kind-worker");
}

TEST_CASE("the pod source settings come from the kube section of the configuration") {
  kepler_config config;
  config.kube.enabled = true;
  config.kube.node_name = "n1";
  config.kube.pod_informer.mode = pod_informer_mode::apiserver;
  config.kube.pod_informer.poll_interval = 30s;
  config.kube.pod_informer.max_response_bytes = 1 << 20;
  config.kube.kubelet.endpoint = "https://10.0.0.1:10250";
  config.kube.kubelet.insecure_skip_verify = true;
  auto settings = kube_settings_from(config);
  CHECK(settings.enabled);
  CHECK(settings.node_name == "n1");
  CHECK(settings.mode == pod_informer_mode::apiserver);
  CHECK(settings.poll_interval == 30s);
  CHECK(settings.max_body_bytes == std::size_t{1} << 20);
  CHECK(settings.kubelet_endpoint == "https://10.0.0.1:10250");
  CHECK(settings.kubelet_insecure_skip_verify);
  CHECK(settings.kubelet_token_file == config.kube.kubelet.token_file);
}
