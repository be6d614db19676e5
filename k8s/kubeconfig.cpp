#include "k8s/kubeconfig.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

namespace kepler {
namespace {

error config_error(std::string message) { return make_error(errc::config, std::move(message)); }

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view space = " \t\r\n";
  auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

/// The entry `name` of a kubeconfig list (`clusters`, `users`, `contexts`), or an undefined node.
YAML::Node named_entry(const YAML::Node& root, const char* list, const std::string& name, const char* field) {
  const YAML::Node entries = root[list];
  if (!entries.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& entry : entries) {
    if (entry["name"] && entry["name"].as<std::string>() == name) return entry[field];
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string string_field(const YAML::Node& map, const char* key) {
  const YAML::Node value = map[key];
  return value && value.IsScalar() ? value.as<std::string>() : std::string();
}

/// A path from the kubeconfig, made absolute against the kubeconfig's folder.
std::string resolve_path(const std::string& path, const std::filesystem::path& base) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (base / path).string();
}

/// A `*-data` field's PEM, or the file named by its sibling (resolved later by the client).
result<void> read_pem_pair(const YAML::Node& map, const char* file_key, const char* data_key,
                           const std::filesystem::path& base, std::string& file, std::string& pem) {
  std::string data = string_field(map, data_key);
  if (!data.empty()) {
    auto decoded = decode_base64(data);
    if (!decoded) return config_error(std::string(data_key) + ": " + decoded.error_message());
    pem = std::move(decoded.value());
    return {};
  }
  file = resolve_path(string_field(map, file_key), base);
  return {};
}

result<void> read_cluster(const YAML::Node& cluster, const std::filesystem::path& base, api_server_config& out) {
  out.server = string_field(cluster, "server");
  if (out.server.empty()) return config_error("the cluster has no server");
  while (out.server.ends_with('/')) out.server.pop_back();
  if (auto url = parse_kube_url(out.server); !url) return url.error();
  if (cluster["insecure-skip-tls-verify"])
    out.tls.insecure_skip_verify = cluster["insecure-skip-tls-verify"].as<bool>();
  return read_pem_pair(cluster, "certificate-authority", "certificate-authority-data", base, out.tls.ca_file,
                       out.tls.ca_pem);
}

result<void> read_user(const YAML::Node& user, const std::filesystem::path& base, api_server_config& out) {
  if (!user || user.IsNull()) return {};  // anonymous
  if (user["exec"])
    return config_error("exec credential plugins are not supported; use a token or a client certificate");
  if (user["auth-provider"])
    return config_error("auth providers are not supported; use a token or a client certificate");
  if (user["username"] || user["password"]) return config_error("basic authentication is not supported");
  out.token = string_field(user, "token");
  out.token_file = resolve_path(string_field(user, "tokenFile"), base);
  if (auto cert = read_pem_pair(user, "client-certificate", "client-certificate-data", base, out.tls.client_cert_file,
                                out.tls.client_cert_pem);
      !cert) {
    return cert;
  }
  return read_pem_pair(user, "client-key", "client-key-data", base, out.tls.client_key_file, out.tls.client_key_pem);
}

result<api_server_config> parse_kubeconfig(const YAML::Node& root, const std::filesystem::path& base) {
  const std::string context_name = string_field(root, "current-context");
  if (context_name.empty()) return config_error("no current-context");
  const YAML::Node context = named_entry(root, "contexts", context_name, "context");
  if (!context) return config_error("context \"" + context_name + "\" is not defined");
  const std::string cluster_name = string_field(context, "cluster");
  const YAML::Node cluster = named_entry(root, "clusters", cluster_name, "cluster");
  if (!cluster)
    return config_error("cluster \"" + cluster_name + "\" of context \"" + context_name + "\" is not defined");
  api_server_config out;
  if (auto ok = read_cluster(cluster, base, out); !ok) {
    return config_error("cluster \"" + cluster_name + "\": " + ok.error_message());
  }
  const std::string user_name = string_field(context, "user");
  if (user_name.empty()) return out;
  const YAML::Node user = named_entry(root, "users", user_name, "user");
  if (!user) return config_error("user \"" + user_name + "\" of context \"" + context_name + "\" is not defined");
  if (auto ok = read_user(user, base, out); !ok)
    return config_error("user \"" + user_name + "\": " + ok.error_message());
  return out;
}

}  // namespace

in_cluster_env in_cluster_env::from_environment() {
  in_cluster_env env;
  env.service_host = env_or_empty("KUBERNETES_SERVICE_HOST");
  env.service_port = env_or_empty("KUBERNETES_SERVICE_PORT");
  return env;
}

result<api_server_config> in_cluster_config(const in_cluster_env& env) {
  if (env.service_host.empty() || env.service_port.empty()) {
    return config_error(
        "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
        "(or set kube.config to a kubeconfig file)");
  }
  bool ipv6 = env.service_host.find(':') != std::string::npos;
  api_server_config out;
  out.server = "https://" + (ipv6 ? "[" + env.service_host + "]" : env.service_host) + ":" + env.service_port;
  if (auto url = parse_kube_url(out.server); !url) return url.error();
  out.tls.ca_file = env.service_account_dir + "/ca.crt";
  out.token_file = env.service_account_dir + "/token";
  return out;
}

result<api_server_config> load_kubeconfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return config_error("cannot read kubeconfig " + path + ": " + std::strerror(errno));
  try {
    const YAML::Node root = YAML::Load(in);
    auto config = parse_kubeconfig(root, std::filesystem::path(path).parent_path());
    if (!config) return config_error("kubeconfig " + path + ": " + config.error_message());
    return config;
  } catch (const YAML::Exception& e) {
    return config_error("kubeconfig " + path + ": " + e.what());
  }
}

result<api_server_config> api_server_config_for(const kube_settings& settings, const in_cluster_env& env) {
  if (!settings.kubeconfig.empty()) return load_kubeconfig(settings.kubeconfig);
  return in_cluster_config(env);
}

result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(errc::token_file, "cannot read token file " + path + ": " + std::strerror(errno));
  }
  std::ostringstream content;
  content << in.rdbuf();
  std::string token(trim(content.str()));
  if (token.empty()) return make_error(errc::token_file, "token file " + path + " is empty");
  if (token.find_first_of("\r\n") != std::string::npos) {
    return make_error(errc::token_file, "token file " + path + " holds more than one line");
  }
  return token;
}

result<std::string> current_token(const api_server_config& config) {
  if (!config.token_file.empty()) return read_token_file(config.token_file);
  return config.token;
}

result<std::string> decode_base64(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') compact += c;
  }
  if (compact.size() % 4 != 0) return config_error("invalid base64: length is not a multiple of 4");
  std::string out(compact.size() / 4 * 3, '\0');
  int written =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(compact.data()), static_cast<int>(compact.size()));
  if (written < 0) return config_error("invalid base64");
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t padding = compact.ends_with("==") ? 2 : compact.ends_with('=') ? 1 : 0;
  out.resize(static_cast<std::size_t>(written) - padding);
  return out;
}

}  // namespace kepler
