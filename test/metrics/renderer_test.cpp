#include "metrics/renderer.hpp"

#include <cstdio>
#include <utility>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "test/support/process_info.hpp"

#include "config/config.hpp"

using namespace kepler;

namespace {

snapshot two_process_snapshot() {
  snapshot snap;
  snap.usage_ratio = 0.25;
  snap.zones.push_back(node_zone_stats{"package", "/sys/class/powercap/intel-rapl:0", 150'000'000, 37'500'000,
                                       112'500'000, 0, 30, 7.5, 22.5, 0, 0});
  snap.sockets.push_back(socket_zone_stats{"package", 0, "/sys/class/powercap/intel-rapl:0", 150'000'000, 30});
  auto info = std::make_shared<process_info>(testing::regular_process("stress ng \"x\"", "/usr/bin/stress-ng"));
  snap.running.push_back(process_row{{4242, 7}, info, 37'500'000'000, 0, 0});
  snap.running_energy_uj = {9'375'000};
  snap.running_watts = {1.875};
  snap.terminated.push_back(process_row{{4243, 8}, info, 1'000'000'000, 0, 1});
  snap.terminated_energy_uj = {2'000'000};
  snap.sources.push_back(source_health{"rapl", "package-0", true, 0, 1.7e9});
  snap.actors.push_back(actor_health{"engine", 0, 1});
  snap.http_drops.push_back(http_drop_count{"over_limit", 3});
  return snap;
}

render_context context(unsigned level = level_all) {
  render_context ctx;
  ctx.node_name = "node-a";
  ctx.metrics_level = level;
  ctx.version = "0.1.0";
  ctx.arch = "amd64";
  cpu_info cpu;
  cpu.processor = "0";
  cpu.vendor_id = "GenuineIntel";
  cpu.model_name = "Intel(R) Xeon(R)";
  cpu.physical_id = "0";
  cpu.core_id = "0";
  ctx.cpus.push_back(cpu);
  ctx.zone_sources.push_back(zone_source_info{"rapl", "package-0", "counter", "", ""});
  ctx.zone_sources.push_back(
      zone_source_info{"fake-cpu-meter", "dram", "estimate", "fake-cpu-meter", "idle 10 W, max 60 W, linear"});
  return ctx;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

/// Runs the real `promtool check metrics` on a document: exit status and what it printed.
std::pair<int, std::string> promtool_check(const std::string& document) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) FAIL("promtool is not installed");
  char path[] = "/tmp/kepler-render-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, document.data(), document.size()) == static_cast<ssize_t>(document.size()));
  close(fd);
  FILE* pipe = popen(("promtool check metrics < " + std::string(path) + " 2>&1").c_str(), "r");
  REQUIRE(pipe);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
  int status = pclose(pipe);
  unlink(path);
  return {status, output};
}

}  // namespace

TEST_CASE("node and process series carry Kepler's names, labels and values") {
  auto text = render_metrics(two_process_snapshot(), context());
  CHECK(has_line(
      text,
      R"x(kepler_node_cpu_joules_total{zone="package",path="/sys/class/powercap/intel-rapl:0",node_name="node-a"} 150)x"));
  CHECK(has_line(
      text,
      R"x(kepler_node_cpu_active_watts{zone="package",path="/sys/class/powercap/intel-rapl:0",node_name="node-a"} 7.5)x"));
  CHECK(has_line(text, R"x(kepler_node_cpu_usage_ratio{node_name="node-a"} 0.25)x"));
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_joules_total{pid="4242",comm="stress ng \"x\"",exe="/usr/bin/stress-ng",type="regular",state="running",container_id="",vm_id="",zone="package",node_name="node-a"} 9.375)x"));
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_watts{pid="4243",comm="stress ng \"x\"",exe="/usr/bin/stress-ng",type="regular",state="terminated",container_id="",vm_id="",zone="package",node_name="node-a"} 0)x"));
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_seconds_total{pid="4242",comm="stress ng \"x\"",exe="/usr/bin/stress-ng",type="regular",container_id="",vm_id="",node_name="node-a"} 37.5)x"));
  CHECK(has_line(text, R"x(kepler_build_info{arch="amd64",branch="",revision="",version="0.1.0",goversion=""} 1)x"));
  CHECK(has_line(
      text,
      R"x(kepler_node_cpu_info{processor="0",vendor_id="GenuineIntel",model_name="Intel(R) Xeon(R)",physical_id="0",core_id="0"} 1)x"));
  CHECK(has_line(text, R"x(kepler_source_up{source="rapl",zone="package-0"} 1)x"));
  CHECK(has_line(text,
                 R"x(kepler_source_info{source="rapl",zone="package-0",method="counter",model="",parameters=""} 1)x"));
  CHECK(has_line(
      text,
      R"x(kepler_source_info{source="fake-cpu-meter",zone="dram",method="estimate",model="fake-cpu-meter",parameters="idle 10 W, max 60 W, linear"} 1)x"));
  CHECK(has_line(text, R"x(kepler_actor_mailbox_depth{actor="engine"} 1)x"));
  CHECK(has_line(text, R"x(kepler_http_dropped_connections_total{reason="over_limit"} 3)x"));
  CHECK(has_line(text, "# TYPE kepler_http_dropped_connections_total counter"));
}

TEST_CASE("metricsLevel leaves out the levels that are not selected") {
  auto text = render_metrics(two_process_snapshot(), context(level_node));
  CHECK(text.find("kepler_node_cpu_joules_total") != std::string::npos);
  CHECK(text.find("kepler_process_cpu_joules_total") == std::string::npos);
  text = render_metrics(two_process_snapshot(), context(level_process));
  CHECK(text.find("kepler_node_cpu_joules_total") == std::string::npos);
  CHECK(text.find("kepler_process_cpu_joules_total") != std::string::npos);
  CHECK(text.find("kepler_build_info") != std::string::npos);
}

TEST_CASE("a reused pid among terminated processes is exported once") {
  auto snap = two_process_snapshot();
  snap.terminated.push_back(snap.terminated[0]);
  snap.terminated.back().key.start_ticks = 99;
  snap.terminated_energy_uj.push_back(3'000'000);
  auto text = render_metrics(snap, context());
  auto first = text.find(R"x(kepler_process_cpu_joules_total{pid="4243")x");
  REQUIRE(first != std::string::npos);
  CHECK(text.find(R"(kepler_process_cpu_joules_total{pid="4243")", first + 1) == std::string::npos);
  CHECK(text.find(R"x(state="terminated",container_id="",vm_id="",zone="package",node_name="node-a"} 3)x") !=
        std::string::npos);
}

/// two_process_snapshot() with maxProcessSeries 1: pid 4242 keeps its series (with what it got
/// while among the top), a container's others and the others outside containers are summed.
snapshot capped_snapshot() {
  auto snap = two_process_snapshot();
  auto info = snap.running[0].info;
  capped_process_series capped;
  capped.running.push_back(process_row{{4242, 7}, info, 30'000'000'000, 0, 0});
  capped.running_energy_uj = {7'000'000};
  capped.running_watts = {1.875};
  capped.others.push_back({"", false, 7'500'000'000});
  capped.others.push_back({std::string(64, 'c'), true, 2'000'000'000});
  capped.others_energy_uj = {2'375'000, 2'000'000};
  capped.others_watts = {0.5, 0.0};
  snap.capped_processes = capped;
  return snap;
}

TEST_CASE("with maxProcessSeries only the kept processes and one others series per container are exported") {
  auto text = render_metrics(capped_snapshot(), context());
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_joules_total{pid="4242",comm="stress ng \"x\"",exe="/usr/bin/stress-ng",type="regular",state="running",container_id="",vm_id="",zone="package",node_name="node-a"} 7)x"));
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_joules_total{pid="",comm="others",exe="",type="regular",state="running",container_id="",vm_id="",zone="package",node_name="node-a"} 2.375)x"));
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_watts{pid="",comm="others",exe="",type="container",state="terminated",container_id=")x" +
          std::string(64, 'c') + R"x(",vm_id="",zone="package",node_name="node-a"} 0)x"));
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_seconds_total{pid="",comm="others",exe="",type="regular",container_id="",vm_id="",node_name="node-a"} 7.5)x"));
  CHECK(has_line(
      text,
      R"x(kepler_process_cpu_seconds_total{pid="4242",comm="stress ng \"x\"",exe="/usr/bin/stress-ng",type="regular",container_id="",vm_id="",node_name="node-a"} 30)x"));
  // The terminated process never had a series of its own.
  CHECK(text.find(R"x(pid="4243")x") == std::string::npos);
  auto [status, output] = promtool_check(text);
  INFO(output);
  CHECK(status == 0);
}

TEST_CASE("the rendered document passes promtool check metrics") {
  auto [status, output] = promtool_check(render_metrics(two_process_snapshot(), context()));
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

namespace {

snapshot container_and_vm_snapshot() {
  auto snap = two_process_snapshot();
  auto info = std::make_shared<process_info>();
  info->comm = "nginx";
  info->type = process_type::container;
  info->container_id = std::string(64, 'a');
  info->container_name = "web";
  info->runtime = "containerd";
  info->pod_id = "6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e";
  snap.containers.running.push_back(workload_row{info, &info->container_id, 2'500'000'000, 0});
  snap.containers.running_energy_uj = {4'000'000};
  snap.containers.running_watts = {0.8};
  auto vm = std::make_shared<process_info>();
  vm->type = process_type::vm;
  vm->vm_id = "0b3e";
  vm->vm_name = "vm1";
  vm->hypervisor = "kvm";
  snap.vms.terminated.push_back(workload_row{vm, &vm->vm_id, 1'000'000'000, 1});
  snap.vms.terminated_energy_uj = {7'000'000};
  snap.zones[0].outside_containers_uj = 33'500'000;
  return snap;
}

}  // namespace

TEST_CASE("containers and VMs carry Kepler's labels; terminated ones report 0 watts") {
  auto text = render_metrics(container_and_vm_snapshot(), context());
  std::string id(64, 'a');
  CHECK(has_line(
      text,
      R"x(kepler_container_cpu_joules_total{container_id=")x" + id +
          R"x(",container_name="web",runtime="containerd",state="running",zone="package",pod_id="6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e",node_name="node-a"} 4)x"));
  CHECK(has_line(
      text,
      R"x(kepler_container_cpu_watts{container_id=")x" + id +
          R"x(",container_name="web",runtime="containerd",state="running",zone="package",pod_id="6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e",node_name="node-a"} 0.8)x"));
  CHECK(has_line(
      text,
      R"x(kepler_container_cpu_seconds_total{container_id=")x" + id +
          R"x(",container_name="web",runtime="containerd",state="running",pod_id="6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e",node_name="node-a"} 2.5)x"));
  CHECK(has_line(
      text,
      R"x(kepler_vm_cpu_joules_total{vm_id="0b3e",vm_name="vm1",hypervisor="kvm",state="terminated",zone="package",node_name="node-a"} 7)x"));
  CHECK(has_line(
      text,
      R"x(kepler_vm_cpu_watts{vm_id="0b3e",vm_name="vm1",hypervisor="kvm",state="terminated",zone="package",node_name="node-a"} 0)x"));
  CHECK(text.find("kepler_container_package_joules_total") == std::string::npos);  // legacy is opt-in
}

TEST_CASE("legacy families name each zone and count the system pseudo-container") {
  auto ctx = context();
  ctx.legacy_metrics = true;
  ctx.power_source = "rapl";
  auto text = render_metrics(container_and_vm_snapshot(), ctx);
  std::string id(64, 'a');
  CHECK(has_line(text, R"x(kepler_container_package_joules_total{container_id=")x" + id +
                           R"x(",container_name="web",container_namespace="",pod_name="",mode="dynamic"} 4)x"));
  CHECK(has_line(
      text,
      R"x(kepler_container_package_joules_total{container_id="system_processes",container_name="system_processes",container_namespace="system",pod_name="system_processes",mode="dynamic"} 33.5)x"));
  CHECK(has_line(text, R"x(kepler_node_package_joules_total{mode="dynamic",source="rapl",node_name="node-a"} 37.5)x"));
  CHECK(has_line(text, R"x(kepler_node_package_joules_total{mode="idle",source="rapl",node_name="node-a"} 112.5)x"));
  CHECK(text.find("kepler_container_dram_joules_total") == std::string::npos);  // no dram zone here
}

TEST_CASE("a document with containers, VMs and legacy families passes promtool") {
  auto ctx = context();
  ctx.legacy_metrics = true;
  auto [status, output] = promtool_check(render_metrics(container_and_vm_snapshot(), ctx));
  INFO(output);
  CHECK(status == 0);
  CHECK(output.empty());
}

namespace {

/// The container snapshot's pod, running, with Kubernetes names for its container and pod.
snapshot pod_snapshot(bool named) {
  auto snap = container_and_vm_snapshot();
  const auto& container = snap.containers.running[0];
  snap.pods.running.push_back(workload_row{container.info, &container.info->pod_id, 2'500'000'000, 0});
  snap.pods.running_energy_uj = {4'000'000};
  snap.pods.running_watts = {0.8};
  auto names = std::make_shared<kube_names>();
  if (named) {
    pod_ref ref{container.info->pod_id, "web-7d4b9", "shop", "nginx"};
    names->by_container.emplace(container.id(), ref);
    names->by_pod.emplace(ref.pod_uid, pod_ref{ref.pod_uid, ref.pod_name, ref.pod_namespace, ""});
  }
  snap.kube = names;
  snap.kube_source = kube_health{"kubelet", true, 1, 1.7e9, {{"timeout", 2}}};
  snap.wall_ns = 1'700'000'012'000'000'000;
  return snap;
}

}  // namespace

TEST_CASE("pods carry their names and equal their containers; container names come from the pod spec") {
  auto text = render_metrics(pod_snapshot(true), context());
  std::string id(64, 'a');
  CHECK(has_line(
      text,
      R"x(kepler_pod_cpu_joules_total{pod_id="6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e",pod_name="web-7d4b9",pod_namespace="shop",state="running",zone="package",node_name="node-a"} 4)x"));
  CHECK(has_line(
      text,
      R"x(kepler_pod_cpu_watts{pod_id="6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e",pod_name="web-7d4b9",pod_namespace="shop",state="running",zone="package",node_name="node-a"} 0.8)x"));
  CHECK(has_line(
      text,
      R"x(kepler_container_cpu_joules_total{container_id=")x" + id +
          R"x(",container_name="nginx",runtime="containerd",state="running",zone="package",pod_id="6a4ce4a0-ba47-11ea-b2a7-0cc47ac5979e",node_name="node-a"} 4)x"));
  CHECK(has_line(text, R"x(kepler_kube_up{mode="kubelet"} 1)x"));
  CHECK(has_line(text, R"x(kepler_kube_pods{mode="kubelet"} 1)x"));
  CHECK(has_line(text, R"x(kepler_kube_sync_age_seconds{mode="kubelet"} 12)x"));
  CHECK(has_line(text, R"x(kepler_kube_errors_total{mode="kubelet",kind="timeout"} 2)x"));

  auto ctx = context();
  ctx.legacy_metrics = true;
  auto legacy = render_metrics(pod_snapshot(true), ctx);
  CHECK(
      has_line(legacy,
               R"x(kepler_container_package_joules_total{container_id=")x" + id +
                   R"x(",container_name="nginx",container_namespace="shop",pod_name="web-7d4b9",mode="dynamic"} 4)x"));
  auto [status, output] = promtool_check(legacy);
  INFO(output);
  CHECK(status == 0);
}

TEST_CASE("a pod is exported only once Kubernetes names it, and never without Kubernetes") {
  auto unnamed = render_metrics(pod_snapshot(false), context());
  CHECK(unnamed.find("kepler_pod_cpu_joules_total{") == std::string::npos);
  CHECK_THAT(unnamed, Catch::Contains(R"x(container_name="web")x"));  // its process's own name meanwhile
  auto no_kube = pod_snapshot(true);
  no_kube.kube.reset();
  no_kube.kube_source.reset();
  auto text = render_metrics(no_kube, context());
  CHECK(text.find("kepler_pod_cpu") == std::string::npos);
  CHECK(text.find("kepler_kube_up") == std::string::npos);
  CHECK(render_metrics(pod_snapshot(true), context(level_node | level_container)).find("kepler_pod_cpu") ==
        std::string::npos);
}
