#include "sensors/proc/process_classifier.hpp"

#include "sensors/proc/container_identity.hpp"
#include "sensors/proc/procfs.hpp"
#include "sensors/proc/vm_detect.hpp"

namespace kepler {

void classify_process(const process_files& files, process_info& info) {
  auto cmdline_text = files.read("cmdline");
  auto cmdline = cmdline_text ? parse_cmdline(cmdline_text.value()) : std::vector<std::string>{};
  // Container wins over VM: a qemu inside a KubeVirt pod is a container process.
  if (auto cgroup = files.read("cgroup")) {
    auto container = parse_cgroup_file(cgroup.value());
    if (!container.id.empty()) {
      auto environ_text = files.read("environ");
      info.type = process_type::container;
      info.container_id = std::move(container.id);
      info.runtime = std::move(container.runtime);
      info.pod_id = std::move(container.pod_uid);
      info.container_name = container_name_from(environ_text ? environ_text.value() : std::string(), cmdline);
      return;
    }
  }
  if (auto vm = detect_vm(cmdline)) {
    info.type = process_type::vm;
    info.vm_id = std::move(vm->id);
    info.vm_name = std::move(vm->name);
    info.hypervisor = std::move(vm->hypervisor);
  }
}

}  // namespace kepler
