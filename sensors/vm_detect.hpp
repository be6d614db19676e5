#pragma once
// Which processes are virtual machines, from their command lines (spec §4.5, §11).

#include <optional>
#include <string>
#include <vector>

namespace kepler {

/// A hypervisor process's VM.
struct vm_identity {
  std::string id;          ///< -uuid, else the VM name, else a stable hash of the command line
  std::string name;        ///< libvirt `guest=` name, -name, or `<hypervisor>-<id prefix>`
  std::string hypervisor;  ///< kvm, virtualbox, vmware, xen
};

/// Recognises qemu/kvm (`bin/qemu-system-*`, `libexec/qemu-kvm`, `bin/kvm`; Xen when
/// `-xen-domid` is given), VirtualBox and VMware processes; nullopt for anything else.
std::optional<vm_identity> detect_vm(const std::vector<std::string>& cmdline);

}  // namespace kepler
