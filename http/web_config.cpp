#include "http/web_config.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>
#include <sstream>

#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "http/basic_auth.hpp"

namespace kepler {
namespace {

namespace fs = std::filesystem;

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

/// The toolkit's names for versions, client auth modes and curves.
constexpr std::array<std::pair<const char*, tls_version>, 4> version_names{{{"TLS10", tls_version::tls10},
                                                                            {"TLS11", tls_version::tls11},
                                                                            {"TLS12", tls_version::tls12},
                                                                            {"TLS13", tls_version::tls13}}};
constexpr std::array<std::pair<const char*, client_auth>, 5> client_auth_names{
    {{"NoClientCert", client_auth::no_client_cert},
     {"RequestClientCert", client_auth::request_client_cert},
     {"RequireAnyClientCert", client_auth::require_any_client_cert},
     {"VerifyClientCertIfGiven", client_auth::verify_client_cert_if_given},
     {"RequireAndVerifyClientCert", client_auth::require_and_verify_client_cert}}};
constexpr std::array<std::pair<const char*, const char*>, 4> curve_names{
    {{"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}}};

/// The toolkit lets only these security headers be set (so a config cannot break
/// Content-Type or framing); an empty list means any value.
struct allowed_header {
  const char* name;
  std::vector<std::string> values;
};
const std::vector<allowed_header>& allowed_headers() {
  static const std::vector<allowed_header> headers{{"Strict-Transport-Security", {}},
                                                   {"X-Content-Type-Options", {"nosniff"}},
                                                   {"X-Frame-Options", {"deny", "sameorigin"}},
                                                   {"X-XSS-Protection", {}},
                                                   {"Content-Security-Policy", {}}};
  return headers;
}

template <class Table>
std::string names_of(const Table& table) {
  std::string out;
  for (const auto& [name, value] : table) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

/// Walks the YAML tree, collecting every problem with its key and line.
class decoder {
 public:
  decoder(web_config& config, fs::path base) : config_(config), base_(std::move(base)) {}

  std::vector<std::string> decode(const YAML::Node& root) {
    if (root.IsNull()) return {};
    if (!root.IsMap()) return {"expected a mapping at the top (line " + line(root) + ")"};
    each_entry(root, "", {"tls_server_config", "http_server_config", "basic_auth_users"},
               [&](const std::string& key, const YAML::Node& value) {
                 if (key == "tls_server_config") tls(value);
                 if (key == "http_server_config") http(value);
                 if (key == "basic_auth_users") users(value);
               });
    return std::move(errors_);
  }

 private:
  using entry_fn = std::function<void(const std::string&, const YAML::Node&)>;

  static std::string line(const YAML::Node& node) { return std::to_string(node.Mark().line + 1); }

  void fail(const YAML::Node& at, const std::string& key, const std::string& what) {
    errors_.push_back("line " + line(at) + ": " + key + ": " + what);
  }

  /// Calls `fn` for each entry of a mapping; unknown and repeated keys are errors.
  /// `allowed` empty: any key (user names, header names).
  void each_entry(const YAML::Node& map, const std::string& path, const std::set<std::string>& allowed,
                  const entry_fn& fn) {
    if (map.IsNull()) return;
    if (!map.IsMap()) return fail(map, path, "expected a mapping");
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const auto key = entry.first.IsScalar() ? entry.first.Scalar() : std::string("?");
      const auto name = path.empty() ? key : path + "." + key;
      if (!entry.first.IsScalar()) {
        fail(entry.first, path, "keys must be plain names");
      } else if (!allowed.empty() && !allowed.count(key)) {
        fail(entry.first, name, "unknown key");
      } else if (!seen.insert(key).second) {
        fail(entry.first, name, "given twice");
      } else {
        fn(key, entry.second);
      }
    }
  }

  std::string text(const YAML::Node& node, const std::string& key) {
    if (node.IsNull()) return {};
    if (!node.IsScalar()) {
      fail(node, key, "expected a single value");
      return {};
    }
    return node.Scalar();
  }

  std::vector<std::string> texts(const YAML::Node& node, const std::string& key) {
    std::vector<std::string> out;
    if (node.IsNull()) return out;
    if (!node.IsSequence()) {
      fail(node, key, "expected a list");
      return out;
    }
    for (const auto& item : node) out.push_back(text(item, key));
    return out;
  }

  bool flag(const YAML::Node& node, const std::string& key, bool fallback) {
    bool value = fallback;
    if (!node.IsNull() && !(node.IsScalar() && YAML::convert<bool>::decode(node, value)))
      fail(node, key, "expected true or false");
    return value;
  }

  template <class Value, std::size_t N>
  std::optional<Value> pick(const std::array<std::pair<const char*, Value>, N>& table, const YAML::Node& node,
                            const std::string& key, const std::string& what) {
    const auto name = text(node, key);
    if (name.empty()) return std::nullopt;  // the default, as in the toolkit
    for (const auto& [known, value] : table)
      if (name == known) return value;
    fail(node, key, "unknown " + what + " " + quoted(name) + " (one of " + names_of(table) + ")");
    return std::nullopt;
  }

  /// A path relative to the web config's directory, checked to be a readable file.
  std::string file(const YAML::Node& node, const std::string& key) {
    auto name = text(node, key);
    if (name.empty()) return name;
    const fs::path given(name);
    const auto resolved = given.is_absolute() ? given : base_ / given;
    std::error_code ec;
    if (!fs::is_regular_file(resolved, ec)) {
      fail(node, key, resolved.string() + (fs::exists(resolved, ec) ? " is not a regular file" : " does not exist"));
    } else if (::access(resolved.c_str(), R_OK) != 0) {
      fail(node, key, "cannot read " + resolved.string() + ": " + std::strerror(errno));
    }
    return resolved.string();
  }

  void tls(const YAML::Node& node) {
    const std::string p = "tls_server_config";
    if (node.IsNull() || (node.IsMap() && node.size() == 0)) return;
    if (!node.IsMap()) return fail(node, p, "expected a mapping");
    tls_settings t;
    each_entry(node, p,
               {"cert_file", "cert", "key_file", "key", "client_ca_file", "client_ca", "client_auth_type",
                "min_version", "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites",
                "client_allowed_sans"},
               [&](const std::string& key, const YAML::Node& v) {
                 const auto k = p + "." + key;
                 if (key == "cert_file") t.cert_file = file(v, k);
                 if (key == "cert") t.cert = text(v, k);
                 if (key == "key_file") t.key_file = file(v, k);
                 if (key == "key") t.key = text(v, k);
                 if (key == "client_ca_file") t.client_ca_file = file(v, k);
                 if (key == "client_ca") t.client_ca = text(v, k);
                 if (key == "client_auth_type")
                   t.client_auth_type = pick(client_auth_names, v, k, "client auth type").value_or(t.client_auth_type);
                 if (key == "min_version")
                   t.min_version = pick(version_names, v, k, "TLS version").value_or(t.min_version);
                 if (key == "max_version") t.max_version = pick(version_names, v, k, "TLS version");
                 if (key == "cipher_suites") t.cipher_suites = texts(v, k);
                 if (key == "curve_preferences") curves(v, k, t);
                 if (key == "prefer_server_cipher_suites") t.prefer_server_cipher_suites = flag(v, k, true);
                 if (key == "client_allowed_sans") t.client_allowed_sans = texts(v, k);
               });
    check(node, t);
    config_.tls = std::move(t);
  }

  void curves(const YAML::Node& node, const std::string& key, tls_settings& t) {
    for (const auto& name : texts(node, key)) {
      const auto* found =
          std::find_if(curve_names.begin(), curve_names.end(), [&](auto& c) { return name == c.first; });
      if (found == curve_names.end())
        fail(node, key, "unknown curve " + quoted(name) + " (one of " + names_of(curve_names) + ")");
      else t.curve_groups.push_back(found->second);
    }
  }

  /// Rules across keys. Where the toolkit would silently serve plain HTTP (a TLS section with
  /// no certificate), we refuse: the user asked for TLS.
  void check(const YAML::Node& node, const tls_settings& t) {
    const std::string p = "tls_server_config";
    auto both = [&](const std::string& file_value, const std::string& inline_value, const char* file_key,
                    const char* inline_key) {
      if (!file_value.empty() && !inline_value.empty())
        fail(node, p, std::string("give either ") + file_key + " or " + inline_key + ", not both");
      if (file_value.empty() && inline_value.empty())
        fail(node, p, std::string(file_key) + " (or " + inline_key + ") is missing");
    };
    both(t.cert_file, t.cert, "cert_file", "cert");
    both(t.key_file, t.key, "key_file", "key");
    const bool has_ca = !t.client_ca_file.empty() || !t.client_ca.empty();
    const bool verifies = t.client_auth_type == client_auth::verify_client_cert_if_given ||
                          t.client_auth_type == client_auth::require_and_verify_client_cert;
    if (!t.client_ca_file.empty() && !t.client_ca.empty())
      fail(node, p, "give either client_ca_file or client_ca, not both");
    if (has_ca && t.client_auth_type == client_auth::no_client_cert)
      fail(node, p + ".client_ca_file", "a client CA is set but client_auth_type is NoClientCert");
    if (verifies && !has_ca)
      fail(node, p + ".client_auth_type", "verifying client certificates needs client_ca_file (or client_ca)");
    if (!t.client_allowed_sans.empty() && !verifies)
      fail(node, p + ".client_allowed_sans",
           "needs client_auth_type VerifyClientCertIfGiven or RequireAndVerifyClientCert");
    if (t.max_version && *t.max_version < t.min_version) fail(node, p + ".max_version", "is below min_version");
  }

  void http(const YAML::Node& node) {
    each_entry(node, "http_server_config", {"http2", "headers"}, [&](const std::string& key, const YAML::Node& v) {
      if (key == "http2") config_.http2 = flag(v, "http_server_config.http2", true);
      if (key == "headers") headers(v);
    });
  }

  void headers(const YAML::Node& node) {
    const std::string p = "http_server_config.headers";
    each_entry(node, p, {}, [&](const std::string& name, const YAML::Node& v) {
      const auto value = text(v, p + "." + name);
      const auto& allowed = allowed_headers();
      const auto found =
          std::find_if(allowed.begin(), allowed.end(), [&](auto& h) { return lower(h.name) == lower(name); });
      if (found == allowed.end()) return fail(v, p + "." + name, "this header cannot be configured");
      if (!found->values.empty() &&
          std::find(found->values.begin(), found->values.end(), lower(value)) == found->values.end())
        return fail(v, p + "." + name, "value " + quoted(value) + " is not allowed");
      if (value.find_first_of("\r\n") != std::string::npos) return fail(v, p + "." + name, "value spans lines");
      config_.headers.emplace_back(found->name, value);
    });
  }

  void users(const YAML::Node& node) {
    each_entry(node, "basic_auth_users", {}, [&](const std::string& name, const YAML::Node& v) {
      const auto key = "basic_auth_users." + name;
      const auto hash = text(v, key);
      if (name.empty() || name.find(':') != std::string::npos)
        fail(v, key, "a user name must be non-empty and without ':'");
      // Never echo the hash: it is a secret too.
      else if (!is_bcrypt_hash(hash)) fail(v, key, "not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, 60 characters)");
      else config_.users.emplace(name, hash);
    });
  }

  web_config& config_;
  fs::path base_;
  std::vector<std::string> errors_;
};

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += (out.empty() ? "" : "; ") + e;
  return out;
}

}  // namespace

std::vector<std::string> web_config::files() const {
  std::vector<std::string> out{path};
  if (tls) {
    for (const auto* f : {&tls->cert_file, &tls->key_file, &tls->client_ca_file})
      if (!f->empty()) out.push_back(*f);
  }
  return out;
}

result<web_config> parse_web_config(const std::string& text, const std::string& path) {
  const auto prefix = "web config " + path + ": ";
  web_config config;
  config.path = path;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return make_error(prefix + "line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  std::error_code ec;
  auto base = fs::absolute(fs::path(path), ec).parent_path();
  auto errors = decoder(config, base).decode(root);
  if (!errors.empty()) return make_error(prefix + joined(errors));
  return config;
}

result<web_config> load_web_config(const std::string& path) {
  const auto prefix = "web config " + path + ": ";
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return make_error(prefix + (fs::exists(path, ec) ? "not a regular file" : "no such file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(prefix + "cannot open it: " + std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return make_error(prefix + "cannot read it: " + std::strerror(errno));
  return parse_web_config(text, path);
}

}  // namespace kepler
