#include "k8s/kubelet_pod_source.hpp"

#include <cstdlib>

#include <catch2/catch.hpp>

#include "test/k8s/kube_server_fixture.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;

namespace {

const char* const fixture_name = "nr_k8s1.31_containerd1.7_kind.json";

/// A kubelet source against `server`, trusting the test CA, with the token in `dir`.
kubelet_pod_source source_for(const fake_kube_server& server, const temp_dir& dir,
                              std::chrono::milliseconds timeout = 5s) {
  kubelet_source_options options;
  options.endpoint = server.url();
  options.token_file = dir.path("token");
  options.ca_file = test_certs::shared().ca_cert;
  options.timeout = timeout;
  return kubelet_pod_source(options);
}

std::size_t fixture_pod_count() {
  auto parsed = parse_pod_list(pods_fixture_text(fixture_name));
  REQUIRE(parsed.ok());
  return parsed.value().pods.size();
}

}  // namespace

TEST_CASE("a poll returns the kubelet's pods, asked for with the token from the file", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "kubelet-token\n");
  auto server = tls_server();
  server->require_token("kubelet-token");
  server->on("/pods", fake_response::json(pods_fixture_text(fixture_name)));
  auto source = source_for(*server, dir);
  auto pods = source.fetch();
  REQUIRE(pods.ok());
  CHECK(pods.value().pods.size() == fixture_pod_count());
  auto index = pod_index(pods.value().pods);
  CHECK(index.container_count() > 0);
  auto seen = server->requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].path == "/pods");
  CHECK(seen[0].authorization == "Bearer kubelet-token");
}

TEST_CASE("the token is read again on every poll, so a rotated token reaches the kubelet", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "first");
  auto server = tls_server();
  server->on("/pods", fake_response::json(pods_fixture_text("dd_podlist_empty.json")));
  auto source = source_for(*server, dir);
  REQUIRE(source.fetch().ok());
  dir.write("token", "second");
  server->require_token("second");
  REQUIRE(source.fetch().ok());
  auto seen = server->requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].authorization == "Bearer first");
  CHECK(seen[1].authorization == "Bearer second");
}

TEST_CASE("a missing or empty token file is a token_file error and nothing is sent", "[kubelet_pod_source]") {
  temp_dir dir;
  auto server = tls_server();
  server->on("/pods", fake_response::json(pods_fixture_text("dd_podlist_empty.json")));
  auto source = source_for(*server, dir);
  auto missing = source.fetch();
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error_kind() == errc::token_file);
  CHECK_THAT(missing.error_message(), Contains(dir.path("token")));
  dir.write("token", "");
  auto empty = source.fetch();
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error_kind() == errc::token_file);
  CHECK(server->requests().empty());
  dir.write("token", "now-there");
  CHECK(source.fetch().ok());
}

TEST_CASE("a kubelet that is down at start is a connect error, and the poll after it comes up works",
          "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "t");
  const unsigned short port = closed_port();
  kubelet_source_options options;
  options.endpoint = "https://127.0.0.1:" + std::to_string(port);
  options.token_file = dir.path("token");
  options.ca_file = test_certs::shared().ca_cert;
  kubelet_pod_source source(options);
  auto down = source.fetch();
  REQUIRE_FALSE(down.ok());
  CHECK(down.error_kind() == errc::connect);
  CHECK_THAT(down.error_message(), Contains(options.endpoint + "/pods"));

  auto server = tls_server(port);
  server->on("/pods", fake_response::json(pods_fixture_text(fixture_name)));
  auto up = source.fetch();
  REQUIRE(up.ok());
  CHECK(up.value().pods.size() == fixture_pod_count());
}

TEST_CASE("HTTP 500 is an http_status error and the next good answer is used", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "t");
  auto server = tls_server();
  server->queue("/pods", fake_response::json("internal error", 500));
  server->on("/pods", fake_response::json(pods_fixture_text(fixture_name)));
  auto source = source_for(*server, dir);
  auto failed = source.fetch();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error_kind() == errc::http_status);
  CHECK(failed.error().status == 500);
  CHECK(source.fetch().ok());
}

TEST_CASE("truncated JSON is a parse error naming the URL", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "t");
  auto server = tls_server();
  server->queue("/pods", fake_response::truncated_json(pods_fixture_text(fixture_name)));
  server->on("/pods", fake_response::json(pods_fixture_text(fixture_name)));
  auto source = source_for(*server, dir);
  auto failed = source.fetch();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error_kind() == errc::parse);
  CHECK_THAT(failed.error_message(), Contains(server->url() + "/pods"));
  CHECK(source.fetch().ok());
}

TEST_CASE("a 50 MB pod list over a 1 MiB limit is body_too_large", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "t");
  auto server = tls_server();
  server->on("/pods", fake_response::huge(50'000'000, true));
  kubelet_source_options options;
  options.endpoint = server->url();
  options.token_file = dir.path("token");
  options.ca_file = test_certs::shared().ca_cert;
  options.max_body_bytes = 1u << 20;
  kubelet_pod_source source(options);
  auto failed = source.fetch();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error_kind() == errc::body_too_large);
  CHECK_THAT(failed.error_message(), Contains("1048576"));
  REQUIRE(server->wait_finished(1, 10s));
  CHECK(server->body_bytes_sent() < 16'000'000);
}

TEST_CASE("a kubelet that stalls for 10 s is a timeout after the 300 ms deadline", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "t");
  auto server = tls_server();
  server->on("/pods", fake_response::stalled(10s, pods_fixture_text(fixture_name)));
  auto source = source_for(*server, dir, 300ms);
  auto started = steady::now();
  auto failed = source.fetch();
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error_kind() == errc::timeout);
  CHECK(steady::now() - started < 5s);
}

TEST_CASE("a wrong CA is a tls error, and fixing the CA file is picked up by the next poll", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "t");
  dir.write("ca.crt", whole_file(test_certs::shared().other_ca_cert));
  auto server = tls_server();
  server->on("/pods", fake_response::json(pods_fixture_text(fixture_name)));
  kubelet_source_options options;
  options.endpoint = server->url();
  options.token_file = dir.path("token");
  options.ca_file = dir.path("ca.crt");
  kubelet_pod_source source(options);
  auto rejected = source.fetch();
  REQUIRE_FALSE(rejected.ok());
  CHECK(rejected.error_kind() == errc::tls);
  dir.write("ca.crt", whole_file(test_certs::shared().ca_cert));
  CHECK(source.fetch().ok());
}

TEST_CASE("insecureSkipVerify polls a kubelet whose certificate nobody vouches for", "[kubelet_pod_source]") {
  temp_dir dir;
  dir.write("token", "t");
  const auto& certs = test_certs::shared();
  auto server = tls_server_with(certs.wrong_host_cert, certs.wrong_host_key);
  server->on("/pods", fake_response::json(pods_fixture_text(fixture_name)));
  kubelet_source_options options;
  options.endpoint = server->url();
  options.token_file = dir.path("token");
  options.ca_file = certs.other_ca_cert;
  options.insecure_skip_verify = true;
  kubelet_pod_source source(options);
  CHECK(source.fetch().ok());
}

TEST_CASE("options come from the kube settings", "[kubelet_pod_source]") {
  kube_settings settings;
  CHECK(settings.kubelet_token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token");
  CHECK(settings.kubelet_ca_file == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  settings.kubelet_insecure_skip_verify = true;
  settings.max_body_bytes = 1234;
  auto options = kubelet_source_options::from(settings, "https://10.0.0.5:10250");
  CHECK(options.endpoint == "https://10.0.0.5:10250");
  CHECK(options.insecure_skip_verify);
  CHECK(options.max_body_bytes == 1234);
  CHECK(options.token_file == settings.kubelet_token_file);
}

TEST_CASE("the default kubelet endpoint comes from NODE_IP, with IPv6 in brackets", "[kubelet_pod_source]") {
  CHECK(kubelet_endpoint_for("10.0.0.5") == "https://10.0.0.5:10250");
  CHECK(kubelet_endpoint_for("fd00::5", 10255) == "https://[fd00::5]:10255");
  const char* saved = std::getenv("NODE_IP");
  std::string restore = saved ? saved : "";
  ::setenv("NODE_IP", "192.168.1.7", 1);
  CHECK(kubelet_endpoint_from_env() == std::optional<std::string>("https://192.168.1.7:10250"));
  ::setenv("NODE_IP", "", 1);
  CHECK_FALSE(kubelet_endpoint_from_env().has_value());
  if (saved) {
    ::setenv("NODE_IP", restore.c_str(), 1);
  } else {
    ::unsetenv("NODE_IP");
  }
}

TEST_CASE("without NODE_IP the endpoint is the Node object's InternalIP and kubelet port", "[kubelet_pod_source]") {
  const std::string node = R"({"kind":"Node","apiVersion":"v1","metadata":{"name":"kind-worker"},
    "status":{"addresses":[{"type":"Hostname","address":"kind-worker"},{"type":"InternalIP","address":"172.18.0.3"},
    {"type":"InternalIP","address":"fc00:f853:ccd:e793::3"}],
    "daemonEndpoints":{"kubeletEndpoint":{"Port":10250}}}})";
  temp_dir dir;
  dir.write("token", "sa-token");
  auto server = tls_server();
  server->require_token("sa-token");
  server->on("/api/v1/nodes/kind-worker", fake_response::json(node));
  api_server_config api;
  api.server = server->url();
  api.tls.ca_file = test_certs::shared().ca_cert;
  api.token_file = dir.path("token");
  request_options options;
  options.timeout = 5s;
  auto endpoint = lookup_kubelet_endpoint(api, "kind-worker", options);
  REQUIRE(endpoint.ok());
  CHECK(endpoint.value() == "https://172.18.0.3:10250");

  auto missing = lookup_kubelet_endpoint(api, "other-node", options);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().status == 404);
  auto invalid = lookup_kubelet_endpoint(api, "../secrets", options);
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error_kind() == errc::config);
}

TEST_CASE("a Node object without an InternalIP is a parse error", "[kubelet_pod_source]") {
  auto none = kubelet_endpoint_from_node(R"({"status":{"addresses":[{"type":"Hostname","address":"n"}]}})");
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error_message(), Contains("InternalIP"));
  CHECK_FALSE(kubelet_endpoint_from_node("{").ok());
  CHECK_FALSE(kubelet_endpoint_from_node(R"({"status":{}})").ok());
  auto custom_port = kubelet_endpoint_from_node(
      R"({"status":{"addresses":[{"type":"InternalIP","address":"fd00::9"}],"daemonEndpoints":{"kubeletEndpoint":{"Port":10255}}}})");
  REQUIRE(custom_port.ok());
  CHECK(custom_port.value() == "https://[fd00::9]:10255");
}
