// Cost of parse_cgroup_file, the container half of classifying a new process.
// Budget: classifying a new process ≤ 20 µs, including reading its cgroup, environ and cmdline
// files, of which parsing must be a small part: ≤ 1 µs per /proc/<pid>/cgroup on average.
// The files parsed are every proc-format fixture of the fixtures (test/fixtures/cgroup: cgroup
// v1 files with up to 13 lines, hybrid and v2), plus /proc/self/cgroup of this machine.
//
// Usage: classify_bench [fixtures_dir=<repo>/test/fixtures] [rounds=20000]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sensors/proc/container_identity.hpp"

namespace {

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Proc-format fixture files: those whose first line has the `id:controllers:` prefix.
std::vector<std::string> load_files(const std::filesystem::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "cgroup", ec)) {
    if (entry.path().extension() != ".cgroup") continue;
    auto content = slurp(entry.path());
    const auto first = content.substr(0, content.find('\n'));
    if (first.find(':') != std::string::npos && first.find(':') < first.find('/')) files.push_back(content);
  }
  files.push_back(slurp("/proc/self/cgroup"));
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir =
      argc > 1 ? std::filesystem::path(argv[1]) : std::filesystem::path(__FILE__).parent_path() / "../test/fixtures";
  const long rounds = argc > 2 ? std::atol(argv[2]) : 20000;
  const auto files = load_files(dir);
  if (files.size() < 2) {
    std::fprintf(stderr, "no cgroup fixtures under %s/cgroup\n", dir.c_str());
    return 1;
  }
  std::size_t bytes = 0, containers = 0;
  for (const auto& f : files) {
    bytes += f.size();
    containers += kepler::parse_cgroup_file(f).is_container();
  }

  using clock = std::chrono::steady_clock;
  std::size_t sink = 0;
  const auto start = clock::now();
  for (long r = 0; r < rounds; ++r)
    for (const auto& f : files) sink += kepler::parse_cgroup_file(f).id.size();
  const auto elapsed = std::chrono::duration<double, std::nano>(clock::now() - start).count();
  const double parses = static_cast<double>(rounds) * static_cast<double>(files.size());
  const double ns_per_parse = elapsed / parses;

  std::printf("files: %zu (%zu containers), mean %.0f bytes per file, %ld rounds\n", files.size(), containers,
              static_cast<double>(bytes) / static_cast<double>(files.size()), rounds);
  std::printf("parse_cgroup_file: %.1f ns per parse (%.2f ns per byte)  [budget 1000 ns]\n", ns_per_parse,
              elapsed / (static_cast<double>(rounds) * static_cast<double>(bytes)));
  std::printf("checksum %zu\n", sink);
  return ns_per_parse <= 1000.0 ? 0 : 2;
}
