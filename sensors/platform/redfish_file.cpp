#include "sensors/platform/redfish_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "base/text.hpp"

namespace kepler {
namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

/// A scalar field's trimmed text; "" when absent. Anything but a scalar is a problem.
std::string text_field(const YAML::Node& entry, const char* key, const std::string& where,
                       std::vector<std::string>& problems) {
  auto node = entry[key];
  if (!node || node.IsNull()) return {};
  if (!node.IsScalar()) {
    problems.push_back(where + ": " + key + " must be a string");
    return {};
  }
  return std::string(trim_space(node.Scalar()));
}

bool bool_field(const YAML::Node& entry, const char* key, const std::string& where,
                std::vector<std::string>& problems) {
  auto node = entry[key];
  bool value = false;
  if (!node || node.IsNull()) return false;
  if (!YAML::convert<bool>::decode(node, value)) problems.push_back(where + ": " + key + " must be true or false");
  return value;
}

redfish_bmc parse_bmc(const std::string& id, const YAML::Node& entry, std::vector<std::string>& problems) {
  const std::string where = "BMC " + quoted(id);
  redfish_bmc bmc;
  bmc.id = id;
  if (!entry.IsMap()) {
    problems.push_back(where + " must be a mapping with an endpoint");
    return bmc;
  }
  bmc.endpoint = text_field(entry, "endpoint", where, problems);
  bmc.username = text_field(entry, "username", where, problems);
  bmc.password = text_field(entry, "password", where, problems);
  bmc.insecure = bool_field(entry, "insecure", where, problems);
  bmc.ca_file = text_field(entry, "caFile", where, problems);
  if (bmc.endpoint.empty()) problems.push_back(where + ": endpoint is required");
  else if (!bmc.endpoint.starts_with("http://") && !bmc.endpoint.starts_with("https://"))
    problems.push_back(where + ": endpoint " + quoted(bmc.endpoint) + " must start with http:// or https://");
  if (bmc.username.empty() != bmc.password.empty())
    problems.push_back(where + ": username and password must be given together");
  auto auth = text_field(entry, "auth", where, problems);
  if (!auth.empty()) {
    if (auto parsed = parse_enum<redfish_auth>(auth)) bmc.auth = *parsed;
    else problems.push_back(where + ": auth " + quoted(auth) + " is not one of " + enum_choices<redfish_auth>());
  }
  return bmc;
}

void parse_nodes(const YAML::Node& nodes, redfish_file& file, std::vector<std::string>& problems) {
  if (!nodes || nodes.IsNull() || (nodes.IsMap() && nodes.size() == 0)) {
    problems.push_back("no nodes configured");
    return;
  }
  if (!nodes.IsMap()) {
    problems.push_back("nodes must map node names to BMC ids");
    return;
  }
  for (const auto& entry : nodes) {
    auto node = std::string(trim_space(entry.first.as<std::string>()));
    if (!entry.second.IsScalar() || trim_space(entry.second.Scalar()).empty()) {
      problems.push_back("node " + quoted(node) + " must name a BMC id");
      continue;
    }
    file.nodes[node] = std::string(trim_space(entry.second.Scalar()));
  }
}

void parse_bmcs(const YAML::Node& bmcs, redfish_file& file, std::vector<std::string>& problems) {
  if (!bmcs || bmcs.IsNull() || (bmcs.IsMap() && bmcs.size() == 0)) {
    problems.push_back("no BMCs configured");
    return;
  }
  if (!bmcs.IsMap()) {
    problems.push_back("bmcs must map BMC ids to their endpoints");
    return;
  }
  for (const auto& entry : bmcs) {
    auto id = std::string(trim_space(entry.first.as<std::string>()));
    file.bmcs[id] = parse_bmc(id, entry.second, problems);
  }
}

std::string joined(const std::vector<std::string>& problems) {
  std::string text;
  for (const auto& problem : problems) text += (text.empty() ? "" : "; ") + problem;
  return text;
}

}  // namespace

result<redfish_file> parse_redfish_file(std::string_view yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return make_error(errc::config, "line " + std::to_string(e.mark.line + 1) + ", column " +
                                        std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) return make_error(errc::config, "expected a mapping with nodes and bmcs");
  redfish_file file;
  std::vector<std::string> problems;
  try {
    parse_nodes(root["nodes"], file, problems);
    parse_bmcs(root["bmcs"], file, problems);
  } catch (const YAML::Exception& e) {  // a key that is not a scalar
    problems.push_back(e.msg);
  }
  for (const auto& [node, bmc] : file.nodes)
    if (!file.bmcs.empty() && !file.bmcs.contains(bmc))
      problems.push_back("node " + quoted(node) + " refers to BMC " + quoted(bmc) + ", which is not defined");
  if (!problems.empty()) return make_error(errc::config, joined(problems));
  return file;
}

result<redfish_file> load_redfish_file(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return make_error(errc::config, "cannot read the Redfish file " + quoted(path) + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_redfish_file(text.str());
  if (!parsed) return make_error(errc::config, "Redfish file " + quoted(path) + ": " + parsed.error_message());
  return parsed;
}

result<redfish_bmc> bmc_for_node(const redfish_file& file, const std::string& node) {
  auto found = file.nodes.find(node);
  if (found == file.nodes.end())
    return make_error(errc::config, "node " + quoted(node) + " is not in the Redfish file's nodes");
  return file.bmcs.at(found->second);
}

std::vector<std::string> nodes_of_bmc(const redfish_file& file, const std::string& bmc_id) {
  std::vector<std::string> nodes;
  for (const auto& [node, bmc] : file.nodes)
    if (bmc == bmc_id) nodes.push_back(node);
  return nodes;
}

std::string redfish_node_name(std::string_view redfish_name, std::string_view kube_name, std::string_view host_name) {
  for (auto name : {redfish_name, kube_name})
    if (auto trimmed = trim_space(name); !trimmed.empty()) return std::string(trimmed);
  return std::string(trim_space(host_name));
}

}  // namespace kepler
