#include "bpf/process_table_builder.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <catch2/catch.hpp>

using namespace kepler;
namespace fs = std::filesystem;

namespace {

uint64_t inode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

cpu_time_snapshot read_with_cgroups(std::vector<uint64_t> ids) {
  cpu_time_snapshot read;
  for (uint64_t id : ids) read.cgroups.push_back(cgroup_cpu_time{id, 1'000'000});
  return read;
}

}  // namespace

TEST_CASE("a cgroup's counter is dropped once it has been gone from the tree for two reads") {
  fs::path root = fs::temp_directory_path() / ("kepler-vanished-" + std::to_string(getpid()));
  fs::create_directories(root / "kubepods.slice" / "job.scope");
  uint64_t live = inode_of(root / "kubepods.slice");
  uint64_t job = inode_of(root / "kubepods.slice" / "job.scope");
  ebpf_table_builder builder("/proc", std::make_unique<cgroup_paths>(root), 1, /*cgroup_sweep_every=*/1);

  builder.build(read_with_cgroups({live, job}), 0);
  CHECK(builder.vanished_cgroups(read_with_cgroups({live, job})).empty());

  fs::remove(root / "kubepods.slice" / "job.scope");  // the job's cgroup is removed
  auto after_removal = read_with_cgroups({live, job});
  builder.build(after_removal, 0);
  CHECK(builder.vanished_cgroups(after_removal).empty());  // missing once: maybe just made
  builder.build(after_removal, 0);
  CHECK(builder.vanished_cgroups(after_removal) == std::vector<uint64_t>{job});
  fs::remove_all(root);
}

TEST_CASE("without a cgroup tree no counter is ever dropped") {
  ebpf_table_builder builder("/proc", nullptr, 1, 1);
  auto read = read_with_cgroups({12345});
  builder.build(read, 0);
  builder.vanished_cgroups(read);
  CHECK(builder.vanished_cgroups(read).empty());
}
