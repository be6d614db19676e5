#include "actors/pod_watcher_actor.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "test/support/caf_fixture.hpp"
#include "test/support/fake_kube_server.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/test_certs.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;

namespace {

const std::string fixtures = KEPLER_FIXTURES_DIR "/kubelet-pods/";
const std::string nginx_container = "b97168314ad58404dbce7cb94291db7a976d2cb824b39e5864bf4bdaf27af255";

std::string fixture(const std::string& name) {
  std::ifstream in(fixtures + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> fixture_lines(const std::string& name) {
  std::ifstream in(fixtures + name);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

/// A service account folder (token and CA) as a pod sees it.
struct service_account {
  temp_dir folder;
  std::filesystem::path dir{folder.root()};
  explicit service_account(const std::string& token) {
    folder.write("token", token);
    std::filesystem::copy_file(test_certs::shared().ca_cert, dir / "ca.crt");
  }
};

fake_server_options tls_server() {
  fake_server_options options;
  options.cert_file = test_certs::shared().server_cert;
  options.key_file = test_certs::shared().server_key;
  return options;
}

/// The next pod_update sent to the test's scoped actor (fails after `timeout`).
pod_update next_update(caf::scoped_actor& self, caf::timespan timeout = 5s) {
  pod_update received;
  bool got = false;
  self->receive([&](pod_update& update) { received = std::move(update), got = true; }, caf::after(timeout) >> [] {});
  REQUIRE(got);
  return received;
}

/// Stops the watcher when a test ends, also when it fails half-way (else the actor system
/// waits for it forever).
struct stopped_at_end {
  testing::caf_fixture& caf;
  caf::actor watcher;
  ~stopped_at_end() { caf.shutdown(watcher); }
};

/// A kubelet-mode watcher of `server` with the account's token and CA, reporting to the test.
pod_watcher_config kubelet_watcher(const fake_kube_server& server, const service_account& account,
                                   testing::caf_fixture& caf) {
  pod_watcher_config config;
  config.settings.enabled = true;
  config.settings.node_name = "node-1";
  config.settings.kubelet_endpoint = server.url();
  config.settings.kubelet_token_file = (account.dir / "token").string();
  config.settings.kubelet_ca_file = (account.dir / "ca.crt").string();
  config.engine = caf::actor_cast<pod_sink>(caf.self());
  config.random = [] { return 0.5; };  // backoff steps without jitter
  return config;
}

uint64_t errors_of(const kube_health& health, const std::string& kind) {
  for (const auto& error : health.errors)
    if (error.kind == kind) return error.count;
  return 0;
}

}  // namespace

TEST_CASE("apiserver mode lists, then follows the watch stream into new pod indexes") {
  testing::caf_fixture caf;
  fake_kube_server server(tls_server());
  server.require_token("sa-token");
  server.on("/api/v1/pods",
            fake_response::json(
                R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"100"},"items":[]})"));
  server.on_watch("/api/v1/pods", fake_response::watch(fixture_lines("apiserver_watch_pods_k8s1.2_docker_raw.jsonl")));
  service_account account("sa-token");

  pod_watcher_config config;
  config.settings.enabled = true;
  config.settings.node_name = "node-1";
  config.settings.mode = pod_informer_mode::apiserver;
  config.cluster = in_cluster_env{"127.0.0.1", std::to_string(server.port()), account.dir.string()};
  config.engine = caf::actor_cast<pod_sink>(caf.self());
  config.random = [] { return 0.5; };
  stopped_at_end watcher{caf, caf.system().spawn(pod_watcher, config)};
  // Its start, the list and the first watch (it sends itself the next step at once); the
  // watch ended at once, so the next one is a second away.
  caf.run();

  auto first = next_update(caf.self());  // before any sync: down, no index
  CHECK_FALSE(first.index);
  CHECK_FALSE(first.health.up);
  CHECK(first.health.mode == "apiserver");

  auto listed = next_update(caf.self());
  REQUIRE(listed.index);
  CHECK(listed.index->pod_count() == 0);
  CHECK(listed.health.up);

  pod_index_ptr latest;
  for (;;) {
    auto update = next_update(caf.self(), 200ms);
    if (!update.index) break;  // the watch's end: health only
    latest = update.index;
  }
  REQUIRE(latest);
  const pod_ref* nginx = latest->find_container(nginx_container);
  REQUIRE(nginx);
  CHECK(nginx->pod_name == "nginx-app-o0kvl");
  CHECK(nginx->pod_namespace == "default");
  CHECK(nginx->pod_uid == "090cc0c8-ea84-11e5-8c79-42010af00003");

  auto requests = server.requests();
  REQUIRE(requests.size() >= 2);
  CHECK_THAT(requests[0].query, Catch::Contains("fieldSelector=spec.nodeName%3Dnode-1"));
  CHECK_THAT(requests[1].query, Catch::Contains("resourceVersion=100"));
  CHECK_THAT(requests[1].query, Catch::Contains("allowWatchBookmarks=true"));
  CHECK(requests[1].authorization == "Bearer sa-token");
}

TEST_CASE("kubelet mode keeps the last pod list through a failure, counts it, and recovers") {
  testing::caf_fixture caf;
  fake_kube_server server(tls_server());
  server.require_token("kubelet-token");
  server.on("/pods", fake_response::json(fixture("nr_k8s1.31_containerd1.7_kind.json")));
  service_account account("kubelet-token");

  auto config = kubelet_watcher(server, account, caf);
  config.settings.poll_interval = 10s;
  stopped_at_end watcher{caf, caf.system().spawn(pod_watcher, config)};
  caf.run();                // its start and first poll
  next_update(caf.self());  // down until the first sync
  auto synced = next_update(caf.self());
  REQUIRE(synced.index);
  CHECK(synced.index->pod_count() == 23);
  CHECK(synced.health.up);
  CHECK(synced.health.pods == 23);

  server.queue("/pods", fake_response::json(R"({"kind":"Status","code":500})", 500));
  caf.advance(10s);  // the next poll fails
  auto failed = next_update(caf.self());
  CHECK_FALSE(failed.index);  // the engine keeps the last index
  CHECK_FALSE(failed.health.up);
  CHECK(failed.health.pods == 23);
  CHECK(errors_of(failed.health, "http_status") == 1);

  caf.advance(1s);  // the backoff's first step (1 s, jitter 0.5 = no change)
  auto recovered = next_update(caf.self());
  REQUIRE(recovered.index);
  CHECK(recovered.health.up);
  CHECK(errors_of(recovered.health, "http_status") == 1);
  CHECK(recovered.health.last_success_seconds > 0);
}

TEST_CASE("a request in progress gives up when the daemon stops") {
  testing::caf_fixture caf;
  fake_kube_server server(tls_server());
  server.on("/pods", fake_response::stalled(30s, fixture("dd_podlist_empty.json")));
  service_account account("t");

  auto config = kubelet_watcher(server, account, caf);
  auto stopping = config.stopping;
  stopped_at_end watcher{caf, caf.system().spawn(pod_watcher, config)};

  std::thread stopper([stopping] {
    std::this_thread::sleep_for(200ms);
    stopping->store(true);
  });
  auto started = std::chrono::steady_clock::now();
  caf.run();  // its start and first poll, blocked in the stalled request until the flag rises
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - started < 4s);  // not the 30 s stall, nor the 5 s timeout
  auto start = next_update(caf.self());
  CHECK(start.health.errors.empty());
  pod_update none;
  bool got = false;
  caf.self()->receive([&](pod_update& update) { none = update, got = true; }, caf::after(100ms) >> [] {});
  CHECK_FALSE(got);  // stopping is not a failure of the kubelet
}
