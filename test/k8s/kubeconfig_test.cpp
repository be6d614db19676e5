#include "k8s/kubeconfig.hpp"

#include <catch2/catch.hpp>

#include "test/k8s/kube_server_fixture.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

/// Base64 of a file on one line, as kubectl writes `*-data` fields (encoded by base64(1)).
std::string base64_of_file(const std::string& path) {
  temp_dir dir;
  std::string out = dir.path("b64");
  REQUIRE(std::system(("base64 -w0 '" + path + "' > '" + out + "'").c_str()) == 0);
  return whole_file(out);
}

std::string kubeconfig(const std::string& cluster, const std::string& user, const std::string& current = "test") {
  return "apiVersion: v1\nkind: Config\ncurrent-context: " + current +
         "\ncontexts:\n- name: other\n  context: {cluster: nowhere, user: nobody}\n"
         "- name: test\n  context:\n    cluster: kind\n    user: kepler\n"
         "clusters:\n- name: kind\n  cluster:\n" +
         cluster + "users:\n- name: kepler\n  user:\n" + user;
}

}  // namespace

TEST_CASE("in-cluster config points at the service and the service account's files", "[kubeconfig]") {
  in_cluster_env env;
  env.service_host = "10.96.0.1";
  env.service_port = "443";
  env.service_account_dir = "/sa";
  auto config = in_cluster_config(env);
  REQUIRE(config.ok());
  CHECK(config.value().server == "https://10.96.0.1:443");
  CHECK(config.value().tls.ca_file == "/sa/ca.crt");
  CHECK(config.value().token_file == "/sa/token");
  CHECK_FALSE(config.value().tls.insecure_skip_verify);

  env.service_host = "fd00:10:96::1";
  CHECK(in_cluster_config(env).value().server == "https://[fd00:10:96::1]:443");
}

TEST_CASE("outside a cluster the in-cluster config says which variables are missing", "[kubeconfig]") {
  in_cluster_env env;
  env.service_port = "443";
  auto config = in_cluster_config(env);
  REQUIRE_FALSE(config.ok());
  CHECK(config.error_kind() == errc::config);
  CHECK_THAT(config.error_message(), Contains("KUBERNETES_SERVICE_HOST") && Contains("kube.config"));
}

TEST_CASE("a kubeconfig's current context gives server, CA file, token file and client files", "[kubeconfig]") {
  temp_dir dir;
  const std::string path = dir.write("config", kubeconfig("    server: https://127.0.0.1:6443/\n"
                                                          "    certificate-authority: pki/ca.crt\n",
                                                          "    tokenFile: /var/run/token\n"
                                                          "    client-certificate: pki/client.crt\n"
                                                          "    client-key: /abs/client.key\n"));
  auto config = load_kubeconfig(path);
  REQUIRE(config.ok());
  CHECK(config.value().server == "https://127.0.0.1:6443");
  CHECK(config.value().tls.ca_file == dir.path("pki/ca.crt"));
  CHECK(config.value().token_file == "/var/run/token");
  CHECK(config.value().tls.client_cert_file == dir.path("pki/client.crt"));
  CHECK(config.value().tls.client_key_file == "/abs/client.key");
}

TEST_CASE("kubeconfig *-data fields are decoded and used for mutual TLS", "[kubeconfig]") {
  const auto& certs = test_certs::shared();
  temp_dir dir;
  auto server = tls_server(0, certs.ca_cert);
  server->on("/api/v1/nodes/node-1", fake_response::json(R"({"kind":"Node"})"));
  const std::string path =
      dir.write("config", kubeconfig("    server: " + server->url() +
                                         "\n    certificate-authority-data: " + base64_of_file(certs.ca_cert) + "\n",
                                     "    client-certificate-data: " + base64_of_file(certs.client_cert) +
                                         "\n    client-key-data: " + base64_of_file(certs.client_key) + "\n"));
  auto config = load_kubeconfig(path);
  REQUIRE(config.ok());
  CHECK(config.value().tls.ca_pem == whole_file(certs.ca_cert));
  CHECK(config.value().tls.client_cert_pem == whole_file(certs.client_cert));
  CHECK(config.value().tls.client_key_pem == whole_file(certs.client_key));
  auto client = kube_http_client::create(config.value().tls);
  REQUIRE(client.ok());
  request_options options;
  options.timeout = 5s;
  auto response = client.value().get(config.value().server + "/api/v1/nodes/node-1", options);
  REQUIRE(response.ok());
  CHECK(response.value().body == R"({"kind":"Node"})");
}

TEST_CASE("a static kubeconfig token and insecure-skip-tls-verify are read", "[kubeconfig]") {
  temp_dir dir;
  const std::string path = dir.write("config", kubeconfig("    server: https://kind-control-plane:6443\n"
                                                          "    insecure-skip-tls-verify: true\n",
                                                          "    token: abc.def\n"));
  auto config = load_kubeconfig(path);
  REQUIRE(config.ok());
  CHECK(config.value().tls.insecure_skip_verify);
  CHECK(config.value().token == "abc.def");
  auto token = current_token(config.value());
  REQUIRE(token.ok());
  CHECK(token.value() == "abc.def");
}

TEST_CASE("kubeconfig problems are config errors that name the file and the piece", "[kubeconfig]") {
  temp_dir dir;
  auto error_of = [&](const std::string& content) {
    const std::string path = dir.write("config", content);
    auto config = load_kubeconfig(path);
    REQUIRE_FALSE(config.ok());
    CHECK(config.error_kind() == errc::config);
    CHECK_THAT(config.error_message(), Contains(path));
    return config.error_message();
  };
  const std::string server = "    server: https://127.0.0.1:6443\n";
  CHECK_THAT(error_of("apiVersion: v1\nclusters: []\n"), Contains("no current-context"));
  CHECK_THAT(error_of(kubeconfig(server, "    token: x\n", "missing")), Contains("context \"missing\" is not defined"));
  CHECK_THAT(error_of(kubeconfig(server, "    token: x\n", "other")), Contains("cluster \"nowhere\""));
  CHECK_THAT(error_of(kubeconfig("    certificate-authority: ca.crt\n", "    token: x\n")), Contains("no server"));
  CHECK_THAT(error_of(kubeconfig("    server: ftp://x\n", "    token: x\n")), Contains("invalid URL"));
  CHECK_THAT(error_of(kubeconfig(server, "    exec:\n      command: aws\n")), Contains("exec credential plugins"));
  CHECK_THAT(error_of(kubeconfig(server, "    auth-provider:\n      name: gcp\n")), Contains("auth providers"));
  CHECK_THAT(error_of(kubeconfig(server, "    client-key-data: '@@@@'\n")), Contains("client-key-data"));
  CHECK_THAT(error_of("current-context: [unclosed\n"), Contains("kubeconfig"));

  auto missing = load_kubeconfig(dir.path("absent"));
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error_message(), Contains("absent") && Contains("No such file"));
}

TEST_CASE("kube.config wins over the in-cluster environment", "[kubeconfig]") {
  temp_dir dir;
  kube_settings settings;
  in_cluster_env env;
  env.service_host = "10.96.0.1";
  env.service_port = "443";
  CHECK(api_server_config_for(settings, env).value().server == "https://10.96.0.1:443");
  settings.kubeconfig = dir.write("config", kubeconfig("    server: https://10.0.0.9:6443\n", "    token: t\n"));
  CHECK(api_server_config_for(settings, env).value().server == "https://10.0.0.9:6443");
}

TEST_CASE("token files are trimmed, and missing or empty ones are token_file errors", "[kubeconfig]") {
  temp_dir dir;
  auto token = read_token_file(dir.write("token", "eyJhbGciOi.payload.sig\n"));
  REQUIRE(token.ok());
  CHECK(token.value() == "eyJhbGciOi.payload.sig");

  auto empty = read_token_file(dir.write("empty", " \n"));
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error_kind() == errc::token_file);
  CHECK_THAT(empty.error_message(), Contains("is empty"));

  auto missing = read_token_file(dir.path("absent"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error_kind() == errc::token_file);
  CHECK_THAT(missing.error_message(), Contains(dir.path("absent")) && Contains("No such file"));

  auto two_lines = read_token_file(dir.write("two", "a\nb\n"));
  REQUIRE_FALSE(two_lines.ok());
  CHECK(two_lines.error_kind() == errc::token_file);
}

TEST_CASE("base64 decoding handles padding and whitespace and rejects garbage", "[kubeconfig]") {
  CHECK(decode_base64("aGVsbG8=").value() == "hello");
  CHECK(decode_base64("aGVsbG8h").value() == "hello!");
  CHECK(decode_base64("aGVs\n bG8=").value() == "hello");
  CHECK(decode_base64("aGk=").value() == "hi");
  CHECK(decode_base64("").value().empty());
  CHECK_FALSE(decode_base64("aGVsbG8").ok());
  CHECK_FALSE(decode_base64("a$==").ok());
}
