// The node's CPU and cloud from /proc/cpuinfo and DMI, as the estimate meter reads them.
#include "sensors/power/node_facts.hpp"

#include <catch2/catch.hpp>

#include "test/sensors/power/estimate_test_support.hpp"

using namespace kepler;

TEST_CASE("cpuinfo gives the CPU, its threads and packages, and whether it is a VM", "[estimate]") {
  auto facts =
      node_facts_from(test::whole_file(test::fixtures_dir() + "/procfs/cpuinfo/utillinux_amd_epyc_7451_2s96t.cpuinfo"),
                      "", "", "", "");
  CHECK(facts.cpu_model == "AMD EPYC 7451 24-Core Processor");
  CHECK(facts.cpu_vendor == "AuthenticAMD");
  CHECK(facts.cpu_family == 23);
  CHECK(facts.cpu_model_number == 1);
  CHECK(facts.logical_cpus == 96);
  CHECK(facts.packages == 2);
  CHECK_FALSE(facts.hypervisor);

  auto vm = node_facts_from(test::x86_cpuinfo("Intel(R) Xeon(R) CPU @ 2.20GHz", 1, 4, "GenuineIntel", 6, 79, 0, true),
                            "", "", "", "");
  CHECK(vm.hypervisor);
  CHECK(vm.logical_cpus == 4);

  auto arm = node_facts_from(test::arm_cpuinfo(4, "0xD0C"), "", "", "", "");
  CHECK(arm.cpu_model.empty());
  CHECK(arm.arm_implementer == "0x41");
  CHECK(arm.arm_part == "0xd0c");
  CHECK(arm.logical_cpus == 4);
  CHECK(arm.packages == 0);
}

TEST_CASE("DMI names the cloud, and EC2 its instance type", "[estimate]") {
  auto cloud = [](const char* vendor, const char* product, const char* bios_vendor = "",
                  const char* bios_version = "") {
    return detect_cloud(node_facts_from("", vendor, product, bios_vendor, bios_version));
  };
  CHECK(cloud("Amazon EC2", "m5.large").provider == "aws");
  CHECK(cloud("Amazon EC2", "m5.large").instance_type == "m5.large");
  CHECK(cloud("Amazon EC2", "Not Specified").instance_type.empty());
  CHECK(cloud("Xen", "HVM domU", "Xen", "4.11.amazon").provider == "aws");
  CHECK(cloud("Google", "Google Compute Engine").provider == "gcp");
  CHECK(cloud("Google", "Google Compute Engine").instance_type.empty());
  CHECK(cloud("Microsoft Corporation", "Virtual Machine").provider == "azure");
  CHECK(cloud("Microsoft Corporation", "Surface Laptop").provider.empty());
  CHECK(cloud("Dell Inc.", "PowerEdge R640").provider.empty());
  CHECK(cloud("", "").provider.empty());
}

TEST_CASE("DMI files are read trimmed under host.sysfs; missing ones leave facts empty", "[estimate]") {
  test::estimate_host host;
  host.dmi("Amazon EC2", "c5.large");
  host.cpuinfo(test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8275CL CPU @ 3.00GHz", 1, 2));
  auto config = host.config();
  auto facts = read_node_facts(config.host.sysfs, config.host.procfs);
  CHECK(facts.sys_vendor == "Amazon EC2");
  CHECK(facts.product_name == "c5.large");
  CHECK(facts.bios_vendor.empty());
  CHECK(facts.logical_cpus == 2);
  auto nothing = read_node_facts(host.tree.path("nowhere"), host.tree.path("nowhere"));
  CHECK(nothing.logical_cpus == 0);
  CHECK(nothing.sys_vendor.empty());
}
