#include "bpf/cgroup_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "sensors/proc/container_identity.hpp"

namespace fs = std::filesystem;
using namespace kepler;

namespace {

uint64_t inode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

/// A temporary directory tree laid out like a cgroup v2 hierarchy.
struct temp_dir {
  fs::path root = fs::temp_directory_path() / ("kepler-cgroup-paths-" + std::to_string(getpid()));
  temp_dir() {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~temp_dir() { fs::remove_all(root); }
  fs::path make(const std::string& relative) {
    fs::create_directories(root / relative);
    std::ofstream(root / relative / "cgroup.procs");  // files beside the directories are skipped
    return root / relative;
  }
};

}  // namespace

TEST_CASE("the cgroup2 mount is found on hybrid and pure v2 hosts", "[cgroup_paths]") {
  const char* hybrid =
      "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
      "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
      "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n"
      "cgroup2 /tmp/other cgroup2 rw,relatime 0 0\n";
  CHECK(find_cgroup2_mount(hybrid) == "/sys/fs/cgroup/unified");
  CHECK(find_cgroup2_mount("proc /proc proc rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0") ==
        "/sys/fs/cgroup");
  CHECK(find_cgroup2_mount("cgroup2 /mnt/with\\040space cgroup2 rw 0 0\n") == "/mnt/with space");
  CHECK_FALSE(find_cgroup2_mount("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"));
  CHECK_FALSE(find_cgroup2_mount(""));
}

TEST_CASE("a missing mounts file or one without cgroup2 is an error naming the file", "[cgroup_paths]") {
  auto missing = cgroup_paths::from_mounts("/nonexistent/mounts");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error_message(), Catch::Contains("/nonexistent/mounts"));
}

TEST_CASE("cgroup ids resolve to paths relative to the root, the root to /", "[cgroup_paths]") {
  temp_dir tree;
  auto nested = tree.make("system.slice/docker-abc.scope");
  cgroup_paths paths(tree.root);
  const std::string* path = paths.find(inode_of(nested));
  REQUIRE(path);
  CHECK(*path == "/system.slice/docker-abc.scope");
  REQUIRE(paths.find(inode_of(tree.root)));
  CHECK(*paths.find(inode_of(tree.root)) == "/");
  CHECK(paths.rebuilds() == 1);
  CHECK(paths.size() == 3);  // root, system.slice, the scope; no files
}

TEST_CASE("a miss rebuilds the cache at most once per read", "[cgroup_paths]") {
  temp_dir tree;
  auto first = tree.make("first");
  cgroup_paths paths(tree.root);
  REQUIRE(paths.find(inode_of(first)));
  auto later = tree.make("later");

  paths.begin_read();
  CHECK_FALSE(paths.find(inode_of(first) + 1'000'000));  // unknown id: one rebuild
  CHECK(paths.rebuilds() == 2);
  CHECK(paths.find(inode_of(later)));  // found by that rebuild
  auto newest = tree.make("newest");
  CHECK_FALSE(paths.find(inode_of(newest)));  // same read: no second walk
  CHECK(paths.rebuilds() == 2);

  paths.begin_read();
  REQUIRE(paths.find(inode_of(newest)));
  CHECK(*paths.find(inode_of(newest)) == "/newest");
  CHECK(paths.rebuilds() == 3);
}

TEST_CASE("a resolved kubepods path classifies as the container it names", "[cgroup_paths]") {
  temp_dir tree;
  std::string id(64, 'a');
  auto scope = tree.make(
      "kubepods.slice/kubepods-burstable.slice/"
      "kubepods-burstable-pod12345678_1234_1234_1234_123456789abc.slice/"
      "cri-containerd-" +
      id + ".scope");
  cgroup_paths paths(tree.root);
  const std::string* path = paths.find(inode_of(scope));
  REQUIRE(path);
  auto identity = parse_cgroup_path(*path);
  CHECK(identity.id == id);
  CHECK(identity.pod_uid == "12345678-1234-1234-1234-123456789abc");
}

TEST_CASE("the live cgroup2 mount resolves its own root", "[cgroup_paths]") {
  auto paths = cgroup_paths::from_mounts();
  if (!paths.ok()) {  // no cgroup v2 on this host
    WARN(paths.error_message());
    return;
  }
  const std::string* root = paths.value().find(inode_of(paths.value().root()));
  REQUIRE(root);
  CHECK(*root == "/");
}

TEST_CASE("the host's cgroup2 tree under host.sysfs is preferred to this process's mounts", "[cgroup_paths]") {
  auto live = cgroup_paths::from_mounts();
  if (!live.ok()) {  // no cgroup v2 on this host
    WARN(live.error_message());
    return;
  }
  auto host = cgroup_paths::for_host("/sys", "/nonexistent/mounts");  // found without the mounts file
  REQUIRE(host.ok());
  CHECK(host.value().root() == live.value().root());

  temp_dir tree;  // a sysfs with no cgroup2 file system: the mounts decide
  auto fallback = cgroup_paths::for_host(tree.root.string());
  REQUIRE(fallback.ok());
  CHECK(fallback.value().root() == live.value().root());
  CHECK_FALSE(cgroup_paths::for_host(tree.root.string(), "/nonexistent/mounts").ok());
}

TEST_CASE("a removed cgroup no longer exists, even while its path is cached", "[cgroup_paths]") {
  temp_dir tree;
  auto scope = tree.make("system.slice/job.scope");
  uint64_t id = inode_of(scope);
  cgroup_paths paths(tree.root);
  CHECK(paths.exists(id));
  fs::remove_all(scope);
  CHECK_FALSE(paths.exists(id));
  CHECK_FALSE(paths.exists(987654321));  // never known
}
