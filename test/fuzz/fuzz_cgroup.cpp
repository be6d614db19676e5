// cgroup files: /proc/<pid>/cgroup (whole file, and each line's path), the environ and
// command line that name a container, and /proc/self/mounts (the cgroup v2 mount point).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bpf/cgroup_paths.hpp"
#include "sensors/proc/container_identity.hpp"
#include "sensors/proc/procfs.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

using namespace kepler;

bool known_runtime(const std::string& runtime) {
  constexpr std::array<std::string_view, 5> known{"docker", "containerd", "crio", "podman", "kubernetes"};
  for (auto name : known)
    if (runtime == name) return true;
  return false;
}

/// Ids and pod uids are copied out of the path as they are (a uid's systemd underscores
/// restored to dashes), and the runtime is a known one.
void check_identity(const container_identity& identity, std::string_view input) {
  std::string dashed(input);
  for (auto& c : dashed) c = c == '_' ? '-' : c;
  KEPLER_FUZZ_CHECK(dashed.find(identity.pod_uid) != std::string::npos, "the pod uid appears in the path");
  if (!identity.is_container()) {
    KEPLER_FUZZ_CHECK(identity.runtime.empty(), "no runtime without a container");
    return;
  }
  KEPLER_FUZZ_CHECK(input.find(identity.id) != std::string_view::npos, "the id appears in the path");
  KEPLER_FUZZ_CHECK(known_runtime(identity.runtime), "the runtime is a known one");
}

void check_lines(std::string_view text) {
  while (!text.empty()) {
    const auto end = text.find('\n');
    const auto line = text.substr(0, end);
    check_identity(parse_cgroup_path(line), line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = kepler::fuzz::as_text(data, size);
  check_identity(parse_cgroup_file(text), text);
  check_lines(text);
  const auto name = container_name_from(text, parse_cmdline(text));
  KEPLER_FUZZ_CHECK(name.empty() || text.find(name) != std::string_view::npos, "the name comes from the input");
  (void)find_cgroup2_mount(text);
  return 0;
}
