#pragma once
// Helpers for the kubelet and API-server client tests: fake servers with the shared test
// certificates, a scratch folder for token and CA files, and small pod documents.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test/support/fake_kube_server.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/test_certs.hpp"

namespace kepler::test {

/// An HTTPS fake server with a certificate for 127.0.0.1 signed by the shared test CA.
inline std::unique_ptr<fake_kube_server> tls_server(unsigned short port = 0, std::string client_ca = {}) {
  const auto& certs = test_certs::shared();
  fake_server_options options;
  options.cert_file = certs.server_cert;
  options.key_file = certs.server_key;
  options.client_ca_file = std::move(client_ca);
  options.port = port;
  return std::make_unique<fake_kube_server>(options);
}

/// An HTTPS fake server presenting `cert` (e.g. one for another address).
inline std::unique_ptr<fake_kube_server> tls_server_with(const std::string& cert, const std::string& key) {
  fake_server_options options;
  options.cert_file = cert;
  options.key_file = key;
  return std::make_unique<fake_kube_server>(options);
}

/// A plain-HTTP fake server.
inline std::unique_ptr<fake_kube_server> plain_server() {
  fake_server_options options;
  options.tls = false;
  return std::make_unique<fake_kube_server>(options);
}

/// A port on 127.0.0.1 where nothing listens (a fake server's, after it stopped).
inline unsigned short closed_port() {
  auto server = plain_server();
  return server->port();
}

/// The text of a kubelet-pods fixture (test/fixtures/kubelet-pods).
inline std::string pods_fixture_text(const std::string& name) {
  return whole_file(std::string(KEPLER_FIXTURES_DIR) + "/kubelet-pods/" + name);
}

/// A 64-hex container id made from a small number.
inline std::string container_id(int n) {
  std::string digits = std::to_string(n);
  return std::string(64 - digits.size(), 'a') + digits;
}

/// A minimal Pod object with one running container.
inline std::string pod_json(const std::string& uid, const std::string& name, const std::string& version,
                            int container) {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name + R"(","namespace":"default","uid":")" + uid +
         R"(","resourceVersion":")" + version +
         R"("},"status":{"phase":"Running","containerStatuses":[{"name":"app","containerID":"containerd://)" +
         container_id(container) + R"("}]}})";
}

/// A watch event line for a pod.
inline std::string pod_event(const std::string& type, const std::string& uid, const std::string& name,
                             const std::string& version, int container) {
  return R"({"type":")" + type + R"(","object":)" + pod_json(uid, name, version, container) + "}";
}

inline std::string bookmark_event(const std::string& version) {
  return R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":")" + version +
         R"("}}})";
}

inline std::string error_event(int code, const std::string& message) {
  return R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":")" + message +
         R"(","reason":"Expired","code":)" + std::to_string(code) + "}}";
}

/// A PodList of the given Pod objects.
inline std::string pod_list_json(const std::vector<std::string>& pods, const std::string& version,
                                 const std::string& continue_token = "") {
  std::string out = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" + version + "\"";
  if (!continue_token.empty()) out += R"(,"continue":")" + continue_token + "\"";
  out += R"(},"items":[)";
  for (std::size_t i = 0; i < pods.size(); ++i) out += (i ? "," : "") + pods[i];
  return out + "]}";
}

}  // namespace kepler::test
