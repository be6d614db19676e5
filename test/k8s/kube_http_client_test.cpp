#include "k8s/kube_http_client.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "test/k8s/kube_server_fixture.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using steady = std::chrono::steady_clock;

namespace {

kube_http_client trusting(const std::string& ca_file) {
  kube_tls_settings tls;
  tls.ca_file = ca_file;
  auto client = kube_http_client::create(tls);
  REQUIRE(client.ok());
  return client.value();
}

kube_http_client trusting_test_ca() { return trusting(test_certs::shared().ca_cert); }

request_options quick(std::chrono::milliseconds timeout = 5s) {
  request_options options;
  options.timeout = timeout;
  return options;
}

}  // namespace

TEST_CASE("URLs are split into scheme, host, port and target", "[kube_http_client]") {
  auto plain = parse_kube_url("http://10.0.0.1:8080/pods?x=1");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain.value().tls);
  CHECK(plain.value().host == "10.0.0.1");
  CHECK(plain.value().port == "8080");
  CHECK(plain.value().authority == "10.0.0.1:8080");
  CHECK(plain.value().target == "/pods?x=1");

  auto v6 = parse_kube_url("https://[fd00::1]:10250/pods");
  REQUIRE(v6.ok());
  CHECK(v6.value().tls);
  CHECK(v6.value().host == "fd00::1");
  CHECK(v6.value().port == "10250");
  CHECK(v6.value().authority == "[fd00::1]:10250");

  auto bare = parse_kube_url("https://kubernetes.default.svc");
  REQUIRE(bare.ok());
  CHECK(bare.value().port == "443");
  CHECK(bare.value().target == "/");
  CHECK(parse_kube_url("http://h?watch=1").value().target == "/?watch=1");
}

TEST_CASE("malformed URLs are config errors that say what is wrong", "[kube_http_client]") {
  auto check = [](std::string_view url, std::string_view why) {
    auto parsed = parse_kube_url(url);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error_kind() == errc::config);
    CHECK_THAT(parsed.error_message(), Contains(std::string(why)) && Contains(std::string(url)));
  };
  check("ftp://host/", "http:// or https://");
  check("https:///pods", "no host");
  check("https://host:99999/", "invalid port");
  check("https://host:http/", "invalid port");
  check("https://fd00::1/", "brackets");
  check("https://[fd00::1/", "unterminated");
  check("https://user:pw@host/", "user information");
}

TEST_CASE("a GET over verified TLS returns the body and sends the bearer token", "[kube_http_client]") {
  auto server = tls_server();
  const std::string fixture = pods_fixture_text("nr_k8s1.31_containerd1.7_kind.json");
  server->on("/pods", fake_response::json(fixture));
  auto options = quick();
  options.bearer_token = "secret-token";
  auto response = trusting_test_ca().get(server->url() + "/pods", options);
  REQUIRE(response.ok());
  CHECK(response.value().status == 200);
  CHECK(response.value().body == fixture);
  auto seen = server->requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].path == "/pods");
  CHECK(seen[0].authorization == "Bearer secret-token");
}

TEST_CASE("a host name is resolved and checked against the certificate's DNS name", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/pods", fake_response::json("{}"));
  auto response = trusting_test_ca().get("https://localhost:" + std::to_string(server->port()) + "/pods", quick());
  REQUIRE(response.ok());
  CHECK(response.value().body == "{}");
}

TEST_CASE("plain http works without any TLS setting", "[kube_http_client]") {
  auto server = plain_server();
  server->on("/healthz", fake_response::json("ok"));
  auto response = trusting_test_ca().get(server->url() + "/healthz", quick());
  REQUIRE(response.ok());
  CHECK(response.value().body == "ok");
  CHECK(server->requests().at(0).authorization.empty());
}

TEST_CASE("a server that is down is a connect error naming the URL", "[kube_http_client]") {
  const std::string url = "https://127.0.0.1:" + std::to_string(closed_port()) + "/pods";
  auto response = trusting_test_ca().get(url, quick());
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::connect);
  CHECK_THAT(response.error_message(), Contains(url) && Contains("refused"));
}

TEST_CASE("HTTP 500 is an http_status error with the code and the start of the body", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/pods", fake_response::json(R"({"message":"etcd is sad"})", 500));
  auto response = trusting_test_ca().get(server->url() + "/pods", quick());
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::http_status);
  CHECK(response.error().status == 500);
  CHECK_THAT(response.error_message(), Contains("HTTP 500") && Contains("etcd is sad") && Contains(server->url()));
}

TEST_CASE("401 and 403 are auth errors", "[kube_http_client]") {
  auto server = tls_server();
  server->require_token("right");
  server->on("/forbidden", fake_response::json("{}", 403));
  auto options = quick();
  options.bearer_token = "wrong";
  auto unauthorized = trusting_test_ca().get(server->url() + "/pods", options);
  REQUIRE_FALSE(unauthorized.ok());
  CHECK(unauthorized.error_kind() == errc::auth);
  CHECK(unauthorized.error().status == 401);
  options.bearer_token = "right";
  auto forbidden = trusting_test_ca().get(server->url() + "/forbidden", options);
  REQUIRE_FALSE(forbidden.ok());
  CHECK(forbidden.error_kind() == errc::auth);
  CHECK(forbidden.error().status == 403);
}

TEST_CASE("a server that stalls past the deadline is a timeout, not a hang", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/pods", fake_response::stalled(10s));
  auto started = steady::now();
  auto response = trusting_test_ca().get(server->url() + "/pods", quick(300ms));
  auto waited = steady::now() - started;
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::timeout);
  CHECK_THAT(response.error_message(), Contains("timed out after 300 ms") && Contains("response headers"));
  CHECK(waited < 5s);  // far below the 10 s stall: the deadline ended the wait
}

TEST_CASE("a body that stops arriving after the headers times out too", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/pods", fake_response::watch({R"({"partial":)"}, watch_end::hold));
  auto response = trusting_test_ca().get(server->url() + "/pods", quick(300ms));
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::timeout);
  CHECK_THAT(response.error_message(), Contains("reading the body"));
}

TEST_CASE("a body over the limit is refused without reading it all", "[kube_http_client]") {
  const bool chunked = GENERATE(false, true);
  CAPTURE(chunked);
  auto server = tls_server();
  server->on("/pods", fake_response::huge(50'000'000, chunked));
  auto options = quick(10s);
  options.max_body_bytes = 1u << 20;
  auto response = trusting_test_ca().get(server->url() + "/pods", options);
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::body_too_large);
  CHECK_THAT(response.error_message(), Contains("exceeds 1048576 bytes"));
  REQUIRE(server->wait_finished(1, 10s));
  // The client hung up at the limit: the server got rid of the limit plus socket buffers at
  // most, nowhere near the 50 MB it wanted to send.
  CHECK(server->body_bytes_sent() < 16'000'000);
}

TEST_CASE("a body within the limit is read whole however it is framed", "[kube_http_client]") {
  const bool chunked = GENERATE(false, true);
  auto server = tls_server();
  server->on("/pods", fake_response::huge(3'000'000, chunked));
  auto response = trusting_test_ca().get(server->url() + "/pods", quick(10s));
  REQUIRE(response.ok());
  CHECK(response.value().body.size() == 3'000'000);
  CHECK(response.value().body.ends_with("]}"));
}

TEST_CASE("a connection closed in the middle of the body is an io error", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/pods", fake_response::cut_short(pods_fixture_text("nr_k8s1.16_docker_minikube.json")));
  auto response = trusting_test_ca().get(server->url() + "/pods", quick());
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::io);
  CHECK_THAT(response.error_message(), Contains("reading the body"));
}

TEST_CASE("a server certificate from an unknown CA is a tls error", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/pods", fake_response::json("{}"));
  auto response = trusting(test_certs::shared().other_ca_cert).get(server->url() + "/pods", quick());
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::tls);
  CHECK_THAT(response.error_message(), Contains("server certificate rejected") && Contains("issuer"));
  CHECK(server->requests().empty());
}

TEST_CASE("a certificate for another address is a tls error", "[kube_http_client]") {
  const auto& certs = test_certs::shared();
  auto server = tls_server_with(certs.wrong_host_cert, certs.wrong_host_key);
  server->on("/pods", fake_response::json("{}"));
  auto response = trusting_test_ca().get(server->url() + "/pods", quick());
  REQUIRE_FALSE(response.ok());
  CHECK(response.error_kind() == errc::tls);
  CHECK_THAT(response.error_message(), Contains("IP address mismatch"));
}

TEST_CASE("insecure_skip_verify accepts any certificate", "[kube_http_client]") {
  const auto& certs = test_certs::shared();
  auto server = tls_server_with(certs.wrong_host_cert, certs.wrong_host_key);
  server->on("/pods", fake_response::json("{}"));
  kube_tls_settings tls;
  tls.ca_file = certs.other_ca_cert;
  tls.insecure_skip_verify = true;
  auto client = kube_http_client::create(tls);
  REQUIRE(client.ok());
  auto response = client.value().get(server->url() + "/pods", quick());
  REQUIRE(response.ok());
  CHECK(response.value().body == "{}");
}

TEST_CASE("unreadable or invalid TLS files are config errors naming them", "[kube_http_client]") {
  temp_dir dir;
  kube_tls_settings missing;
  missing.ca_file = dir.path("nope.crt");
  auto no_file = kube_http_client::create(missing);
  REQUIRE_FALSE(no_file.ok());
  CHECK(no_file.error_kind() == errc::config);
  CHECK_THAT(no_file.error_message(), Contains(missing.ca_file) && Contains("No such file"));

  kube_tls_settings garbage;
  garbage.ca_file = dir.write("garbage.crt", "not a certificate\n");
  auto not_pem = kube_http_client::create(garbage);
  REQUIRE_FALSE(not_pem.ok());
  CHECK(not_pem.error_kind() == errc::config);
  CHECK_THAT(not_pem.error_message(), Contains(garbage.ca_file));

  kube_tls_settings half;
  half.client_cert_file = test_certs::shared().client_cert;
  auto no_key = kube_http_client::create(half);
  REQUIRE_FALSE(no_key.ok());
  CHECK_THAT(no_key.error_message(), Contains("both the certificate and its key"));

  kube_tls_settings mismatched;
  mismatched.client_cert_file = test_certs::shared().client_cert;
  mismatched.client_key_file = test_certs::shared().server_key;
  auto wrong_key = kube_http_client::create(mismatched);
  REQUIRE_FALSE(wrong_key.ok());
  CHECK_THAT(wrong_key.error_message(), Contains("client key"));
}

TEST_CASE("a server requiring a client certificate accepts ours and refuses a client without one",
          "[kube_http_client]") {
  const auto& certs = test_certs::shared();
  auto server = tls_server(0, certs.ca_cert);
  server->on("/api", fake_response::json(R"({"kind":"APIVersions"})"));

  kube_tls_settings from_files;
  from_files.ca_file = certs.ca_cert;
  from_files.client_cert_file = certs.client_cert;
  from_files.client_key_file = certs.client_key;
  auto with_files = kube_http_client::create(from_files);
  REQUIRE(with_files.ok());
  CHECK(with_files.value().get(server->url() + "/api", quick()).ok());

  kube_tls_settings from_memory;
  from_memory.ca_pem = whole_file(certs.ca_cert);
  from_memory.client_cert_pem = whole_file(certs.client_cert);
  from_memory.client_key_pem = whole_file(certs.client_key);
  auto with_pem = kube_http_client::create(from_memory);
  REQUIRE(with_pem.ok());
  CHECK(with_pem.value().get(server->url() + "/api", quick()).ok());

  auto anonymous = trusting_test_ca().get(server->url() + "/api", quick());
  REQUIRE_FALSE(anonymous.ok());
  CHECK(anonymous.error_kind() == errc::tls);
  CHECK_THAT(anonymous.error_message(), Contains("certificate"));
  CHECK(server->requests().size() == 2);
}

TEST_CASE("get_lines hands over each line of a chunked stream in order", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/watch", fake_response::watch({"first", "second", "", "third\r"}));
  std::vector<std::string> lines;
  auto streamed = trusting_test_ca().get_lines(server->url() + "/watch", quick(), [&](std::string_view line) {
    lines.emplace_back(line);
    return true;
  });
  REQUIRE(streamed.ok());
  CHECK(lines == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("get_lines delivers a line while the stream is still open", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/watch", fake_response::watch({}, watch_end::hold));
  std::promise<std::string> first_line;
  std::vector<std::string> lines;
  auto client = trusting_test_ca();
  auto streaming = std::async(std::launch::async, [&] {
    return client.get_lines(server->url() + "/watch", quick(20s), [&](std::string_view line) {
      if (lines.empty()) first_line.set_value(std::string(line));
      lines.emplace_back(line);
      return true;
    });
  });
  server->push_watch_line(R"({"type":"ADDED"})");
  auto arrived = first_line.get_future();
  REQUIRE(arrived.wait_for(10s) == std::future_status::ready);  // the stream has not ended yet
  CHECK(arrived.get() == R"({"type":"ADDED"})");
  server->push_watch_line("last");
  server->end_watch();
  auto streamed = streaming.get();
  REQUIRE(streamed.ok());
  CHECK(lines == std::vector<std::string>{R"({"type":"ADDED"})", "last"});
}

TEST_CASE("get_lines stops when the handler says so", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/watch", fake_response::watch({"one", "two", "three"}, watch_end::hold));
  int seen = 0;
  auto streamed =
      trusting_test_ca().get_lines(server->url() + "/watch", quick(), [&](std::string_view) { return ++seen < 2; });
  REQUIRE(streamed.ok());
  CHECK(seen == 2);
}

TEST_CASE("a stream line over the limit is body_too_large", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/watch", fake_response::watch({"short", std::string(5000, 'x')}));
  auto options = quick();
  options.max_body_bytes = 4096;
  int seen = 0;
  auto streamed = trusting_test_ca().get_lines(server->url() + "/watch", options, [&](std::string_view) {
    ++seen;
    return true;
  });
  REQUIRE_FALSE(streamed.ok());
  CHECK(streamed.error_kind() == errc::body_too_large);
  CHECK_THAT(streamed.error_message(), Contains("a line of the stream exceeds 4096 bytes"));
  CHECK(seen == 1);
}

TEST_CASE("a raised stop flag ends a wait within the poll period", "[kube_http_client]") {
  auto server = tls_server();
  server->on("/watch", fake_response::watch({}, watch_end::hold));
  std::atomic<bool> stop{false};
  auto options = quick(60s);
  options.should_stop = [&] { return stop.load(); };
  options.stop_poll = 50ms;
  std::thread raiser([&] {
    std::this_thread::sleep_for(200ms);
    stop = true;
  });
  auto started = steady::now();
  auto streamed =
      trusting_test_ca().get_lines(server->url() + "/watch", options, [](std::string_view) { return true; });
  auto waited = steady::now() - started;
  raiser.join();
  REQUIRE_FALSE(streamed.ok());
  CHECK(streamed.error_kind() == errc::stopped);
  CHECK(waited < 10s);  // not the 60 s deadline
}
