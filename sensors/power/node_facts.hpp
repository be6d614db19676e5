#pragma once
// What the estimate meter needs to know about the node (docs/estimate.md): its CPU from
// /proc/cpuinfo and, for cloud VMs, its provider and instance type from DMI.

#include <string>
#include <string_view>

namespace kepler {

struct node_facts {
  std::string cpu_model;   ///< `model name` of the first CPU; empty where cpuinfo has none (Arm)
  std::string cpu_vendor;  ///< `vendor_id`: GenuineIntel, AuthenticAMD; empty on Arm
  int cpu_family = -1, cpu_model_number = -1, cpu_stepping = -1;  ///< x86 CPUID; -1 when unknown
  std::string arm_implementer, arm_part;                          ///< Arm: 0x41, 0xd0c
  int logical_cpus = 0;     ///< `processor` entries: the node's threads (vCPUs in a VM)
  int packages = 0;         ///< distinct `physical id`s; 0 where cpuinfo gives none
  bool hypervisor = false;  ///< the CPU flags say this is a virtual machine
  /// /sys/class/dmi/id: who made the (virtual) machine; trimmed, empty when unreadable.
  std::string sys_vendor, product_name, bios_vendor, bios_version;
};

/// Facts from the texts of /proc/cpuinfo and the DMI files (any may be empty).
node_facts node_facts_from(std::string_view cpuinfo, std::string_view sys_vendor, std::string_view product_name,
                           std::string_view bios_vendor, std::string_view bios_version);

/// Facts of this node: `<procfs>/cpuinfo` and `<sysfs>/class/dmi/id/*`. A missing file leaves its
/// facts empty (DMI is absent on many Arm boards and hidden in some containers).
node_facts read_node_facts(const std::string& sysfs, const std::string& procfs);

/// A public cloud recognised from DMI.
struct cloud_identity {
  std::string provider;       ///< aws, gcp, azure; empty when not a known cloud
  std::string instance_type;  ///< EC2's product_name (m5.large); empty where DMI does not say
};

/// EC2 (sys_vendor `Amazon EC2`, or a Xen BIOS naming amazon), GCE (sys_vendor `Google`), Azure
/// (sys_vendor `Microsoft Corporation` with product_name `Virtual Machine`, which is also what
/// Hyper-V on premises reports).
cloud_identity detect_cloud(const node_facts& facts);

}  // namespace kepler
