#include "k8s/apiserver_pod_source.hpp"

#include <atomic>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "test/k8s/kube_server_fixture.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;

namespace {

const std::string pods_path = "/api/v1/pods";
const std::string nginx_uid = "090cc0c8-ea84-11e5-8c79-42010af00003";
const std::string nginx_container = "b97168314ad58404dbce7cb94291db7a976d2cb824b39e5864bf4bdaf27af255";

/// An API-server source for node-1 against `server`, with the token in `dir`.
apiserver_pod_source source_for(const fake_kube_server& server, const temp_dir& dir) {
  dir.write("token", "sa-token");
  apiserver_source_options options;
  options.server.server = server.url();
  options.server.tls.ca_file = test_certs::shared().ca_cert;
  options.server.token_file = dir.path("token");
  options.node_name = "node-1";
  options.request_timeout = 5s;
  options.watch_timeout = 30s;
  options.stop_poll = 50ms;
  return apiserver_pod_source(options);
}

/// Collects every index the source publishes.
struct published {
  std::vector<pod_index_ptr> indexes;
  apiserver_pod_source::index_handler handler() {
    return [this](pod_index_ptr index) { indexes.push_back(std::move(index)); };
  }
  const pod_index& latest() const { return *indexes.back(); }
};

apiserver_step step(apiserver_pod_source& source, published& out) {
  auto result = source.run_once(out.handler(), [] { return false; });
  INFO((result.ok() ? std::string("ok") : result.error_message()));
  REQUIRE(result.ok());
  return result.value();
}

std::vector<std::string> fixture_watch_lines() {
  std::istringstream stream(pods_fixture_text("apiserver_watch_pods_k8s1.2_docker_raw.jsonl"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(stream, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

bool has_param(const recorded_request& request, const std::string& param) {
  return ("&" + request.query + "&").find("&" + param + "&") != std::string::npos;
}

}  // namespace

TEST_CASE("list, watch with bookmarks, 410 relist and resume from resourceVersion", "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  server->require_token("sa-token");
  auto source = source_for(*server, dir);
  published out;

  // 1. The list: the recorded API-server PodList, resourceVersion 228211.
  server->queue(pods_path, fake_response::json(pods_fixture_text("apiserver_podlist_k8s1.2_docker.json")));
  CHECK(step(source, out) == apiserver_step::listed);
  REQUIRE(out.indexes.size() == 1);
  CHECK(out.latest().find_container(nginx_container)->pod_uid == nginx_uid);
  CHECK(source.resource_version() == "228211");
  CHECK(source.synced());

  // 2. A watch: a pod arrives, gets a new container, a bookmark moves the version on, and
  //    the server ends the watch normally.
  server->queue_watch(pods_path, fake_response::watch({
                                     pod_event("ADDED", "uid-2", "worker", "228300", 2),
                                     pod_event("MODIFIED", "uid-2", "worker", "228301", 3),
                                     bookmark_event("228400"),
                                 }));
  CHECK(step(source, out) == apiserver_step::watch_ended);
  REQUIRE(out.indexes.size() == 3);  // one per change; the bookmark publishes nothing
  CHECK(out.indexes[1]->find_container(container_id(2))->pod_name == "worker");
  CHECK(out.latest().find_container(container_id(2)) == nullptr);
  CHECK(out.latest().find_container(container_id(3))->pod_name == "worker");
  CHECK(out.latest().find_container(nginx_container) != nullptr);
  CHECK(source.resource_version() == "228400");

  // 3. The next watch resumes from the bookmark; a pod is deleted, then the version expires.
  server->queue_watch(pods_path, fake_response::watch({pod_event("DELETED", "uid-2", "worker", "228401", 3),
                                                       error_event(410, "too old resource version: 228400 (228500)")},
                                                      watch_end::hold));
  CHECK(step(source, out) == apiserver_step::expired);
  REQUIRE(out.indexes.size() == 4);
  CHECK(out.latest().find_container(container_id(3)) == nullptr);
  CHECK(source.resource_version().empty());

  // 4. Relist: the list now holds only a new pod.
  server->queue(pods_path, fake_response::json(pod_list_json({pod_json("uid-3", "batch", "228600", 4)}, "228600")));
  CHECK(step(source, out) == apiserver_step::listed);
  REQUIRE(out.indexes.size() == 5);
  CHECK(out.latest().pod_count() == 1);
  CHECK(out.latest().find_container(container_id(4))->pod_uid == "uid-3");
  CHECK(out.latest().find_container(nginx_container) == nullptr);

  // 5. A watch refused with HTTP 410 Gone also leads to a relist.
  server->queue_watch(pods_path, fake_response::json(R"({"kind":"Status","code":410,"reason":"Expired"})", 410));
  CHECK(step(source, out) == apiserver_step::expired);
  server->queue(pods_path, fake_response::json(pod_list_json({pod_json("uid-3", "batch", "228700", 4)}, "228700")));
  CHECK(step(source, out) == apiserver_step::listed);
  CHECK(out.indexes.size() == 5);  // the relist found nothing new: no new index

  auto seen = server->requests();
  REQUIRE(seen.size() == 6);
  for (const auto& request : seen) {
    CHECK(request.path == pods_path);
    CHECK(has_param(request, "fieldSelector=spec.nodeName%3Dnode-1"));
    CHECK(request.authorization == "Bearer sa-token");
  }
  CHECK_FALSE(has_param(seen[0], "watch=1"));
  CHECK(has_param(seen[0], "limit=500"));
  CHECK(has_param(seen[1], "watch=1"));
  CHECK(has_param(seen[1], "resourceVersion=228211"));
  CHECK(has_param(seen[1], "allowWatchBookmarks=true"));
  CHECK(has_param(seen[1], "timeoutSeconds=30"));
  CHECK(has_param(seen[2], "resourceVersion=228400"));
  CHECK_FALSE(has_param(seen[3], "watch=1"));
  CHECK(has_param(seen[4], "resourceVersion=228600"));
  CHECK_FALSE(has_param(seen[5], "watch=1"));
}

TEST_CASE("the recorded watch stream is applied event by event", "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  auto source = source_for(*server, dir);
  published out;
  server->queue(pods_path, fake_response::json(pod_list_json({}, "228081")));
  CHECK(step(source, out) == apiserver_step::listed);
  CHECK(out.latest().pod_count() == 0);
  server->queue_watch(pods_path, fake_response::watch(fixture_watch_lines()));
  CHECK(step(source, out) == apiserver_step::watch_ended);
  CHECK(out.latest().find_container(nginx_container)->pod_name == "nginx-app-o0kvl");
  CHECK(source.resource_version() != "228081");
}

TEST_CASE("a failed watch keeps the cache and resumes from the same resourceVersion", "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  auto source = source_for(*server, dir);
  published out;
  server->queue(pods_path, fake_response::json(pods_fixture_text("apiserver_podlist_k8s1.2_docker.json")));
  REQUIRE(step(source, out) == apiserver_step::listed);

  server->queue_watch(pods_path, fake_response::json("overloaded", 500));
  auto failed = source.run_once(out.handler(), [] { return false; });
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error_kind() == errc::http_status);
  CHECK(source.resource_version() == "228211");
  CHECK(source.cache().size() == 1);

  server->queue_watch(pods_path, fake_response::watch({"{not json"}, watch_end::hold));
  auto garbled = source.run_once(out.handler(), [] { return false; });
  REQUIRE_FALSE(garbled.ok());
  CHECK(garbled.error_kind() == errc::parse);
  CHECK_THAT(garbled.error_message(), Contains("watch event"));

  server->queue_watch(pods_path, fake_response::watch({error_event(500, "internal error")}, watch_end::hold));
  auto error_event_failure = source.run_once(out.handler(), [] { return false; });
  REQUIRE_FALSE(error_event_failure.ok());
  CHECK(error_event_failure.error().status == 500);
  CHECK_THAT(error_event_failure.error_message(), Contains("internal error"));

  server->queue_watch(pods_path,
                      fake_response::watch({pod_event("ADDED", "uid-2", "late", "228300", 9)}, watch_end::abort));
  auto cut = source.run_once(out.handler(), [] { return false; });
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error_kind() == errc::io);
  CHECK(source.resource_version() == "228300");  // the event before the cut counts

  auto seen = server->requests();
  REQUIRE(seen.size() == 5);
  for (std::size_t i = 1; i < seen.size(); ++i) CHECK(has_param(seen[i], "resourceVersion=228211"));
  CHECK(out.latest().find_container(container_id(9))->pod_name == "late");
  CHECK(out.latest().find_container(nginx_container) != nullptr);
}

TEST_CASE("a paginated list follows continue tokens and watches from the last page's version",
          "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  auto source = source_for(*server, dir);
  published out;
  server->queue(pods_path, fake_response::json(pod_list_json({pod_json("uid-1", "a", "5", 1)}, "10", "tok/1=")));
  server->queue(pods_path, fake_response::json(pod_list_json({pod_json("uid-2", "b", "6", 2)}, "10")));
  CHECK(step(source, out) == apiserver_step::listed);
  REQUIRE(out.indexes.size() == 1);
  CHECK(out.latest().pod_count() == 2);
  CHECK(source.resource_version() == "10");
  auto seen = server->requests();
  REQUIRE(seen.size() == 2);
  CHECK_FALSE(has_param(seen[0], "continue=tok%2F1%3D"));
  CHECK(has_param(seen[1], "continue=tok%2F1%3D"));
  CHECK(has_param(seen[1], "limit=500"));
}

TEST_CASE("an expired continue token restarts the list", "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  auto source = source_for(*server, dir);
  published out;
  server->queue(pods_path, fake_response::json(pod_list_json({pod_json("uid-1", "a", "5", 1)}, "10", "tok")));
  server->queue(pods_path, fake_response::json(R"({"kind":"Status","code":410})", 410));
  CHECK(step(source, out) == apiserver_step::expired);
  CHECK(out.indexes.empty());
  CHECK_FALSE(source.synced());
  server->queue(pods_path, fake_response::json(pod_list_json({pod_json("uid-1", "a", "5", 1)}, "11")));
  CHECK(step(source, out) == apiserver_step::listed);
  CHECK(out.latest().pod_count() == 1);
}

TEST_CASE("a list that fails publishes nothing and keeps no version", "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  auto source = source_for(*server, dir);
  published out;
  server->queue(pods_path, fake_response::truncated_json(pods_fixture_text("apiserver_podlist_k8s1.2_docker.json")));
  auto failed = source.run_once(out.handler(), [] { return false; });
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error_kind() == errc::parse);
  CHECK(out.indexes.empty());
  CHECK(source.resource_version().empty());

  server->require_token("rotated");
  auto refused = source.run_once(out.handler(), [] { return false; });
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error_kind() == errc::auth);
  dir.write("token", "rotated");  // the kubelet rotated the projected token
  server->on(pods_path, fake_response::json(pods_fixture_text("apiserver_podlist_k8s1.2_docker.json")));
  CHECK(step(source, out) == apiserver_step::listed);
  CHECK(server->requests().back().authorization == "Bearer rotated");
}

TEST_CASE("a raised stop flag ends an idle watch promptly", "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  auto source = source_for(*server, dir);
  published out;
  server->queue(pods_path, fake_response::json(pod_list_json({}, "1")));
  REQUIRE(step(source, out) == apiserver_step::listed);
  server->on_watch(pods_path, fake_response::watch({}, watch_end::hold));
  std::atomic<bool> stop{false};
  std::thread raiser([&] {
    std::this_thread::sleep_for(200ms);
    stop = true;
  });
  auto started = steady::now();
  auto result = source.run_once(out.handler(), [&] { return stop.load(); });
  auto waited = steady::now() - started;
  raiser.join();
  REQUIRE(result.ok());
  CHECK(result.value() == apiserver_step::stopped);
  CHECK(waited < 10s);  // not the 30 s watch
  CHECK(source.resource_version() == "1");
}

TEST_CASE("events pushed while the watch is open are published as they come", "[apiserver_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  auto source = source_for(*server, dir);
  std::mutex mutex;
  std::vector<pod_index_ptr> indexes;
  auto handler = [&](pod_index_ptr index) {
    std::lock_guard lock(mutex);
    indexes.push_back(std::move(index));
  };
  auto count = [&] {
    std::lock_guard lock(mutex);
    return indexes.size();
  };
  server->queue(pods_path, fake_response::json(pod_list_json({}, "1")));
  REQUIRE(source.run_once(handler, [] { return false; }).ok());
  server->on_watch(pods_path, fake_response::watch({}, watch_end::hold));
  std::thread watcher([&] { (void)source.run_once(handler, [] { return false; }); });
  server->push_watch_line(pod_event("ADDED", "uid-7", "live", "2", 7));
  auto deadline = steady::now() + 10s;
  while (count() < 2 && steady::now() < deadline) std::this_thread::sleep_for(10ms);
  CHECK(count() == 2);  // published before the watch ended
  server->end_watch();
  watcher.join();
  std::lock_guard lock(mutex);
  CHECK(indexes.back()->find_container(container_id(7))->pod_name == "live");
}

TEST_CASE("an invalid node name is a config error", "[apiserver_pod_source]") {
  apiserver_source_options options;
  options.server.server = "https://127.0.0.1:1";
  options.node_name = "a/b";
  apiserver_pod_source source(options);
  auto result = source.run_once([](pod_index_ptr) {}, [] { return false; });
  REQUIRE_FALSE(result.ok());
  CHECK(result.error_kind() == errc::config);
}

TEST_CASE("percent-encoding keeps only unreserved characters", "[apiserver_pod_source]") {
  CHECK(percent_encode("spec.nodeName=kind-worker") == "spec.nodeName%3Dkind-worker");
  CHECK(percent_encode("a/b+c=~_") == "a%2Fb%2Bc%3D~_");
}
