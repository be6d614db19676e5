#include "k8s/kubelet_pod_source.hpp"

#include <cstdlib>

#include <simdjson.h>

namespace kepler {

kubelet_source_options kubelet_source_options::from(const kube_settings& settings, std::string endpoint) {
  kubelet_source_options out;
  out.endpoint = std::move(endpoint);
  out.token_file = settings.kubelet_token_file;
  out.ca_file = settings.kubelet_ca_file;
  out.insecure_skip_verify = settings.kubelet_insecure_skip_verify;
  out.timeout = settings.request_timeout;
  out.max_body_bytes = settings.max_body_bytes;
  return out;
}

kubelet_pod_source::kubelet_pod_source(kubelet_source_options options) : options_(std::move(options)) {
  while (options_.endpoint.ends_with('/')) options_.endpoint.pop_back();
}

result<kube_http_client*> kubelet_pod_source::client() {
  if (!client_) {
    kube_tls_settings tls;
    tls.ca_file = options_.ca_file;
    tls.insecure_skip_verify = options_.insecure_skip_verify;
    auto created = kube_http_client::create(tls);
    if (!created) return created.error();
    client_.emplace(std::move(created.value()));
  }
  return &*client_;
}

result<pod_list> kubelet_pod_source::fetch(const std::function<bool()>& should_stop) {
  const std::string url = options_.endpoint + "/pods";
  request_options request;
  if (!options_.token_file.empty()) {
    auto token = read_token_file(options_.token_file);
    if (!token) return token.error();
    request.bearer_token = std::move(token.value());
  }
  request.timeout = options_.timeout;
  request.max_body_bytes = options_.max_body_bytes;
  request.should_stop = should_stop;
  auto http = client();
  if (!http) return http.error();
  auto response = http.value()->get(url, request);
  if (!response) {
    auto kind = response.error_kind();
    if (kind == errc::tls || kind == errc::config) client_.reset();  // reload the CA next time
    return response.error();
  }
  auto pods = parse_pod_list(response.value().body, options_.parse_limits);
  if (!pods) return make_error(errc::parse, "GET " + url + ": " + pods.error_message());
  return std::move(pods.value());
}

std::string kubelet_endpoint_for(std::string_view node_ip, unsigned port) {
  bool ipv6 = node_ip.find(':') != std::string_view::npos;
  std::string host = ipv6 ? "[" + std::string(node_ip) + "]" : std::string(node_ip);
  return "https://" + host + ":" + std::to_string(port);
}

std::optional<std::string> kubelet_endpoint_from_env() {
  const char* node_ip = std::getenv("NODE_IP");
  if (node_ip == nullptr || *node_ip == '\0') return std::nullopt;
  return kubelet_endpoint_for(node_ip);
}

result<std::string> kubelet_endpoint_from_node(std::string_view node_json) {
  auto bad = [](std::string why) { return make_error(errc::parse, "Node object: " + why); };
  simdjson::dom::parser parser;
  simdjson::dom::element node;
  if (auto err = parser.parse(node_json.data(), node_json.size()).get(node); err) {
    return bad(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  simdjson::dom::array addresses;
  if (node["status"]["addresses"].get(addresses) != simdjson::SUCCESS) return bad("status.addresses is missing");
  std::string_view address;
  for (simdjson::dom::element entry : addresses) {
    std::string_view type;
    if (entry["type"].get(type) == simdjson::SUCCESS && type == "InternalIP" &&
        entry["address"].get(address) == simdjson::SUCCESS && !address.empty()) {
      break;
    }
    address = {};
  }
  if (address.empty()) return bad("no InternalIP in status.addresses");
  std::int64_t port = 10250;
  simdjson::dom::element declared;
  if (node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"].get(declared) == simdjson::SUCCESS) {
    if (declared.get(port) != simdjson::SUCCESS || port <= 0 || port > 65535) {
      return bad("status.daemonEndpoints.kubeletEndpoint.Port is not a port number");
    }
  }
  return kubelet_endpoint_for(address, static_cast<unsigned>(port));
}

result<std::string> lookup_kubelet_endpoint(const api_server_config& api, const std::string& node_name,
                                            const request_options& options) {
  if (!valid_node_name(node_name)) return make_error(errc::config, "invalid node name \"" + node_name + "\"");
  auto client = kube_http_client::create(api.tls);
  if (!client) return client.error();
  auto token = current_token(api);
  if (!token) return token.error();
  request_options request = options;
  request.bearer_token = token.value();
  const std::string url = api.server + "/api/v1/nodes/" + node_name;
  auto response = client.value().get(url, request);
  if (!response) return response.error();
  auto endpoint = kubelet_endpoint_from_node(response.value().body);
  if (!endpoint) return make_error(errc::parse, "GET " + url + ": " + endpoint.error_message());
  return endpoint;
}

}  // namespace kepler
