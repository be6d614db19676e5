#pragma once
// Kepler's Redfish BMC file (experimental.platform.redfish.configFile): which BMC measures each
// node, and how to reach it. The format is v0.11's, accepted as is, with optional fields of ours.
//
//   nodes:                    # node name → BMC id; several nodes may share a BMC (a blade chassis)
//     worker-1: bmc-1
//   bmcs:
//     bmc-1:
//       endpoint: https://10.0.0.11   # http:// or https://, with an optional port
//       username: monitor             # with password, or neither (no authentication)
//       password: secret
//       insecure: false               # true: no certificate check
//       caFile: /etc/kepler/bmc-ca.pem   # ours: the CA the BMC's certificate chains to
//       auth: session                 # ours: session (Kepler's) or basic

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/named_enum.hpp"
#include "base/result.hpp"

namespace kepler {

#define KEPLER_REDFISH_AUTH(X) X(session, "session") X(basic, "basic")
KEPLER_NAMED_ENUM(redfish_auth, KEPLER_REDFISH_AUTH)

/// One BMC of the file.
struct redfish_bmc {
  std::string id;
  std::string endpoint;
  std::string username;
  std::string password;
  bool insecure = false;
  std::string ca_file;
  redfish_auth auth = redfish_auth::session;
};

struct redfish_file {
  std::map<std::string, std::string> nodes;  ///< node name → BMC id
  std::map<std::string, redfish_bmc> bmcs;   ///< BMC id → BMC
};

/// Parses and checks the file's text as v0.11 does (nodes and bmcs not empty, every node's BMC
/// defined, an endpoint on each BMC, username and password together), plus our fields. All
/// problems are reported at once; kind config.
result<redfish_file> parse_redfish_file(std::string_view yaml_text);

/// Reads and parses `path`; errors name the file.
result<redfish_file> load_redfish_file(const std::string& path);

/// The BMC that measures `node`, or an error naming the node (kind config).
result<redfish_bmc> bmc_for_node(const redfish_file& file, const std::string& node);

/// The nodes whose power `bmc_id` measures (a blade chassis's BMC measures them all together).
std::vector<std::string> nodes_of_bmc(const redfish_file& file, const std::string& bmc_id);

/// Kepler's order: the Redfish node name, else kube.nodeName, else the host name (each trimmed).
std::string redfish_node_name(std::string_view redfish_name, std::string_view kube_name, std::string_view host_name);

}  // namespace kepler
