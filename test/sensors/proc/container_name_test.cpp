// Container name without Kubernetes: environ first, then the command line (docs/compatibility.md §4.4).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sensors/proc/container_identity.hpp"

using namespace kepler;
using namespace std::string_literals;

namespace {

using argv_t = std::vector<std::string>;

}  // namespace

TEST_CASE("the first HOSTNAME or CONTAINER_NAME of the environ names the container", "[k8s][name]") {
  CHECK(container_name_from("PATH=/bin\0HOSTNAME=3f2a1b9c8d7e\0TERM=xterm\0"s, {}) == "3f2a1b9c8d7e");
  CHECK(container_name_from("CONTAINER_NAME=web\0HOSTNAME=abc\0"s, {}) == "web");
  CHECK(container_name_from("HOSTNAME=abc\0CONTAINER_NAME=web\0"s, {}) == "abc");
  // No trailing NUL on the last entry.
  CHECK(container_name_from("A=1\0HOSTNAME=last"s, {}) == "last");
  // The value keeps any further '='.
  CHECK(container_name_from("HOSTNAME=a=b\0"s, {}) == "a=b");
}

TEST_CASE("an empty or look-alike environ entry does not name the container", "[k8s][name]") {
  CHECK(container_name_from("HOSTNAME=\0CONTAINER_NAME=web\0"s, {}) == "web");
  CHECK(container_name_from("MY_HOSTNAME=x\0HOSTNAMES=y\0hostname=z\0HOSTNAME\0"s, {}).empty());
  CHECK(container_name_from("HOSTNAME=\0"s, argv_t{"app", "--name=svc"}) == "svc");
}

TEST_CASE("without an environ name, --name after argv[0] names the container", "[k8s][name]") {
  CHECK(container_name_from("", argv_t{"/usr/bin/app", "--name=db"}) == "db");
  CHECK(container_name_from("", argv_t{"/usr/bin/app", "-v", "--name", "db", "--name=other"}) == "db");
  CHECK(container_name_from("PATH=/bin\0"s, argv_t{"app", "x", "--name=db"}) == "db");
  // argv[0] is never the flag, and a trailing --name has no value.
  CHECK(container_name_from("", argv_t{"--name=self", "x"}).empty());
  CHECK(container_name_from("", argv_t{"app", "--name"}).empty());
  CHECK(container_name_from("", argv_t{"app", "--name=", "--name", "db"}) == "db");
  // One argument is not enough.
  CHECK(container_name_from("", argv_t{"--name=x"}).empty());
  CHECK(container_name_from("", argv_t{}).empty());
  // Similar flags are not --name.
  CHECK(container_name_from("", argv_t{"app", "--names=a", "-name", "b", "--name-prefix=c"}).empty());
}

TEST_CASE("a containerd shim names the container by its fourth argument", "[k8s][name]") {
  const argv_t shim = {"/usr/bin/docker-containerd-shim", "-namespace", "moby", "c0ffee", "/var/run/x"};
  CHECK(container_name_from("", shim) == "c0ffee");
  CHECK(container_name_from("", argv_t{"containerd-shim", "a", "b", "name3", "d"}) == "name3");
  // Only those two executables: the v2 shim is not one of them.
  CHECK(container_name_from("", argv_t{"containerd-shim-runc-v2", "a", "b", "name3"}).empty());
  // Too short a shim command line names nothing.
  CHECK(container_name_from("", argv_t{"containerd-shim", "a", "b"}).empty());
  // In argv order: a --name before argv[3] wins, one after it loses.
  CHECK(container_name_from("", argv_t{"containerd-shim", "--name=early", "b", "c"}) == "early");
  CHECK(container_name_from("", argv_t{"containerd-shim", "a", "b", "c", "--name=late"}) == "c");
  // The environ still comes first.
  CHECK(container_name_from("HOSTNAME=h\0"s, shim) == "h");
}

TEST_CASE("a binary environ never crashes", "[k8s][name]") {
  std::string junk;
  for (int i = 0; i < 2048; ++i) junk.push_back(static_cast<char>((i * 37) & 0xff));
  CHECK_NOTHROW(container_name_from(junk, {junk, junk}));
  CHECK(container_name_from(junk + "\0HOSTNAME=ok\0"s, {}) == "ok");
}
