#include "sensors/proc/container_identity.hpp"

// Container name without Kubernetes (docs/compatibility.md §4.4), as Kepler's containerNameFromEnv and
// containerNameFromCmdLine, except that an empty value never ends the search: `HOSTNAME=` or
// `--name=` with nothing after it names nothing, so the next source is tried.

namespace kepler {
namespace {

std::string_view basename_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string name_from_environ(std::string_view raw) {
  std::size_t start = 0;
  while (start < raw.size()) {
    auto end = raw.find('\0', start);
    if (end == std::string_view::npos) end = raw.size();
    const auto entry = raw.substr(start, end - start);
    start = end + 1;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos || eq + 1 == entry.size()) continue;
    const auto key = entry.substr(0, eq);
    if (key == "HOSTNAME" || key == "CONTAINER_NAME") return std::string(entry.substr(eq + 1));
  }
  return {};
}

std::string name_from_cmdline(const std::vector<std::string>& argv) {
  if (argv.size() < 2) return {};
  const auto exe = basename_of(argv[0]);
  const bool shim = exe == "docker-containerd-shim" || exe == "containerd-shim";
  // One pass in argv order, as Kepler does: a `--name` before argv[3] beats the shim's argv[3].
  for (std::size_t i = 1; i < argv.size(); ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--name=") && arg.size() > 7) return std::string(arg.substr(7));
    if (arg == "--name" && i + 1 < argv.size() && !argv[i + 1].empty()) return argv[i + 1];
    if (shim && i == 3 && !arg.empty()) return argv[i];
  }
  return {};
}

}  // namespace

std::string container_name_from(std::string_view environ_raw, const std::vector<std::string>& cmdline) {
  if (auto name = name_from_environ(environ_raw); !name.empty()) return name;
  return name_from_cmdline(cmdline);
}

}  // namespace kepler
