#pragma once
// Which processes are virtual machines, from their command lines (docs/compatibility.md §4.5, §11).

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
/// Only argv[0] is matched, and only its last path component must be the hypervisor binary
/// (see vm_detect.cpp for the exact rules and where they differ from v0.11).
std::optional<vm_identity> detect_vm(const std::vector<std::string>& cmdline);

/// The id given to a VM whose command line names none (docs/compatibility.md difference #12): FNV-1a 64 over every
/// argument followed by a NUL, i.e. over the bytes of /proc/<pid>/cmdline, as 16 lower-case
/// hex digits. The same command line always gives the same id.
std::string generated_vm_id(const std::vector<std::string>& cmdline);

}  // namespace kepler
