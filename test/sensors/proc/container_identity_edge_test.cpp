// Container identity beyond the fixtures: nesting, selection across lines, id boundaries,
// hex-looking non-containers, namespace-relative paths and garbage.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sensors/proc/container_identity.hpp"

using namespace kepler;

namespace {

const std::string id_a = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string id_b = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
const std::string uid = "3cae2e45-052c-4b11-80d3-4d7b2d2d3464";
const std::string uid_systemd = "3cae2e45_052c_4b11_80d3_4d7b2d2d3464";

std::string kind_pod_slice() {
  return "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
         "kubelet-kubepods-burstable-pod" +
         uid_systemd + ".slice";
}

}  // namespace

TEST_CASE("in a kind node the innermost container wins over the node's own", "[k8s][cgroup]") {
  const auto path = "/system.slice/docker-" + id_a + ".scope" + kind_pod_slice() + "/cri-containerd-" + id_b + ".scope";
  for (const auto& got : {parse_cgroup_path(path), parse_cgroup_file("0::" + path + "\n")}) {
    CHECK(got.id == id_b);
    CHECK(got.runtime == "containerd");
    CHECK(got.pod_uid == uid);
  }
}

TEST_CASE("a kind node's own process does not inherit a pod nested inside it", "[k8s][cgroup]") {
  const auto got = parse_cgroup_path("/system.slice/docker-" + id_a + ".scope" + kind_pod_slice());
  CHECK(got.id == id_a);
  CHECK(got.runtime == "docker");
  CHECK(got.pod_uid.empty());
}

TEST_CASE("across lines the match starting deepest wins, the first line on a tie", "[k8s][cgroup]") {
  SECTION("a deeper match on a later line wins") {
    const auto got = parse_cgroup_file("4:cpu:/docker/" + id_a + "\n0::/system.slice/docker-" + id_b + ".scope\n");
    CHECK(got.id == id_b);
  }
  SECTION("a shallower match on a later line does not") {
    const auto got = parse_cgroup_file("0::/system.slice/docker-" + id_a + ".scope\n4:cpu:/docker/" + id_b + "\n");
    CHECK(got.id == id_a);
  }
  SECTION("equal depth keeps the first line") {
    const auto got = parse_cgroup_file("4:cpu:/docker/" + id_a + "\n5:memory:/docker/" + id_b + "\n");
    CHECK(got.id == id_a);
  }
}

TEST_CASE("a container id is exactly 64 lowercase hex digits", "[k8s][cgroup]") {
  CHECK(parse_cgroup_path("/docker/" + id_a).id == id_a);
  CHECK(parse_cgroup_path("/docker-" + id_a + ".scope").id == id_a);
  CHECK(parse_cgroup_path("/docker-" + id_a + "_x").id == id_a);               // any non-hex ends it
  CHECK_FALSE(parse_cgroup_path("/docker/" + id_a.substr(1)).is_container());  // 63
  CHECK_FALSE(parse_cgroup_path("/docker/" + id_a + "0").is_container());      // 65: a longer run
  CHECK_FALSE(parse_cgroup_path("/docker/" + id_a + "A").is_container());      // uppercase hex too
  CHECK_FALSE(parse_cgroup_path("/docker/" + id_a + id_b).is_container());     // 128
  std::string upper = id_a;
  upper[10] = 'C';
  CHECK_FALSE(parse_cgroup_path("/docker/" + upper).is_container());
  CHECK_FALSE(parse_cgroup_path("/kubepods/burstable/pod" + uid + "/" + id_a + "7").is_container());
}

TEST_CASE("libpod-payload takes the whole hex run of any length", "[k8s][cgroup]") {
  const auto got = parse_cgroup_path("/system.slice/kepler.service/libpod-payload-abc123");
  CHECK(got.id == "abc123");
  CHECK(got.runtime == "podman");
  CHECK_FALSE(parse_cgroup_path("/system.slice/libpod-payload-/x").is_container());
}

TEST_CASE("hex-looking cgroups that are not containers are not containers", "[k8s][cgroup]") {
  for (const auto& line : std::vector<std::string>{
           "4:memory:/process_api/cd5a6910403a06987230c4beb53e49ad",
           "4:memory:/process_api/" + id_a,
           "0::/system.slice/run-ra2ddf9594bbf4a1986439b594f89eb0f.scope",
           "0::/user.slice/user-1000.slice/user@1000.service/tmux-spawn-e780eea5-fcf4-4010-88be-18150805c48e.scope",
           "1:name=systemd:/user.slice/user-1000.slice/user@1000.service/apps.slice/"
           "vte-spawn-75bc72bd-6642-4cf5-b62c-0674e11bfc84.scope",
           "0::/user.slice/user-1000.slice/session-3.scope",
           "0::/system.slice/docker.service",
           "0::/system.slice/containerd.service",
           "0::/system.slice/docker.service/" + id_a,
           "0::/system.slice/docker-" + id_a.substr(0, 32) + ".scope",
           "0::/machine.slice/machine-qemu\\x2d1\\x2dvm.scope/libvirt",
       }) {
    INFO(line);
    CHECK_FALSE(parse_cgroup_file(line + "\n").is_container());
  }
  // This machine's own /proc/self/cgroup is one of them.
  const auto self =
      parse_cgroup_file("9:name=systemd:/\n4:memory:/process_api/8ea2dc5ce888767591d1480791b8a8c8\n1:cpu:/\n0::/\n");
  CHECK_FALSE(self.is_container());
  CHECK(self.pod_uid.empty());
}

TEST_CASE("a cri-containerd scope outside kubepods is a containerd container without a pod", "[k8s][cgroup]") {
  // Kepler's `[:/]cri-containerd[-:]` row matches it and the id is a real container's; see the
  // decision in container_identity.cpp.
  const auto got = parse_cgroup_file("0::/system.slice/cri-containerd-" + id_a + ".scope\n");
  CHECK(got.id == id_a);
  CHECK(got.runtime == "containerd");
  CHECK(got.pod_uid.empty());
}

TEST_CASE("paths relative to a cgroup namespace still yield their container", "[k8s][cgroup]") {
  SECTION("systemd scope below ..") {
    const auto got = parse_cgroup_file("0::/../../kubepods-besteffort-pod" + uid_systemd + ".slice/cri-containerd-" +
                                       id_a + ".scope\n");
    CHECK(got.id == id_a);
    CHECK(got.runtime == "containerd");
    CHECK(got.pod_uid == uid);
  }
  SECTION("cgroupfs pod that lost its /kubepods prefix, in each QoS class") {
    for (const auto& path :
         std::vector<std::string>{"/../../pod" + uid + "/" + id_a, "/../../../besteffort/pod" + uid + "/" + id_a,
                                  "/../../burstable/pod" + uid + "/" + id_a, "/../../../pod" + uid + "/" + id_a}) {
      INFO(path);
      const auto got = parse_cgroup_path(path);
      CHECK(got.id == id_a);
      CHECK(got.runtime == "kubernetes");
      CHECK(got.pod_uid == uid);
    }
  }
  SECTION("a pod segment in an absolute path still needs /kubepods/") {
    CHECK_FALSE(parse_cgroup_path("/besteffort/pod" + uid + "/" + id_a).is_container());
  }
  SECTION("the namespace root alone names nothing") {
    for (const std::string content : {"0::/\n", "0::/..\n", "0::/../..\n", "0::\n"}) {
      const auto got = parse_cgroup_file(content);
      CHECK_FALSE(got.is_container());
      CHECK(got.pod_uid.empty());
    }
  }
}

TEST_CASE("pod uids come from every QoS class and both drivers", "[k8s][cgroup]") {
  const std::string hash = "9729a196c4723b60ab401eaff722982d";
  CHECK(parse_cgroup_path("/kubepods/pod" + uid + "/" + id_a).pod_uid == uid);
  CHECK(parse_cgroup_path("/kubepods/besteffort/pod" + uid + "/" + id_a).pod_uid == uid);
  CHECK(parse_cgroup_path("/kubepods/burstable/pod" + hash + "/" + id_a).pod_uid == hash);
  CHECK(parse_cgroup_path("/kubepods.slice/kubepods-pod" + uid_systemd + ".slice/crio-" + id_a + ".scope").pod_uid ==
        uid);
  CHECK(parse_cgroup_path("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + hash + ".slice/docker-" +
                          id_a + ".scope")
            .pod_uid == hash);
  // A pod-level cgroup names its pod but no container.
  const auto pod_level = parse_cgroup_file("0::/kubepods/burstable/pod" + uid + "\n");
  CHECK_FALSE(pod_level.is_container());
  CHECK(pod_level.pod_uid == uid);
  // Something shaped unlike a pod uid is no pod uid.
  CHECK(parse_cgroup_path("/kubepods/burstable/pod1234/" + id_a).pod_uid.empty());
  CHECK(parse_cgroup_path("/kubepods.slice/kubepods-podnot_a_uid.slice/docker-" + id_a + ".scope").pod_uid.empty());
}

TEST_CASE("garbage never crashes and is not a container", "[k8s][cgroup]") {
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  std::string huge(1 << 20, 'a');
  std::string repeated;
  for (int i = 0; i < 20000; ++i) repeated += "/kubepods/pod-/libpod-payload-/docker/";
  for (const auto& content :
       std::vector<std::string>{std::string(), std::string("\n\n\n"), std::string("garbage"), std::string("12:"),
                                std::string("::"), std::string(":::::"), std::string("0::/docker/"),
                                std::string("0::/docker-"), std::string("0::/kubepods/"),
                                std::string("0::/kubepods/burstable/pod"), std::string("0::libpod-"),
                                std::string("\0\0\0", 3), binary, "0::/" + huge, "0::" + repeated, huge}) {
    const auto got = parse_cgroup_file(content);
    CHECK_FALSE(got.is_container());
    CHECK(got.runtime.empty());
    CHECK_FALSE(parse_cgroup_path(content).is_container());
  }
  // A line without the two colons is skipped, not read as a path.
  CHECK_FALSE(parse_cgroup_file("/docker/" + id_a + "\n").is_container());
  // A container id inside a huge line is still found.
  CHECK(parse_cgroup_file("0::/" + huge + "/docker-" + id_a + ".scope\n").id == id_a);
  // Binary bytes around a real line do not hide it.
  CHECK(parse_cgroup_file(binary + "\n0::/docker/" + id_a + "\n" + binary).id == id_a);
}
