#include "sensors/power/node_facts.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "base/text.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {
namespace {

int number_or(const std::string& text, int fallback) {
  int value = 0;
  return parse_decimal(trim_space(text), value) ? value : fallback;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string read_trimmed(const std::string& path) {
  auto text = read_text_file(path);
  return text ? std::string(trim_space(text.value())) : std::string();
}

}  // namespace

node_facts node_facts_from(std::string_view cpuinfo, std::string_view sys_vendor, std::string_view product_name,
                           std::string_view bios_vendor, std::string_view bios_version) {
  node_facts facts;
  const auto cpus = parse_cpuinfo(cpuinfo);
  facts.logical_cpus = static_cast<int>(cpus.size());
  std::set<std::string> packages;
  for (const auto& cpu : cpus) {
    if (!cpu.physical_id.empty()) packages.insert(cpu.physical_id);
    facts.hypervisor = facts.hypervisor || cpu.hypervisor;
  }
  facts.packages = static_cast<int>(packages.size());
  if (!cpus.empty()) {
    const auto& first = cpus.front();
    facts.cpu_model = first.model_name;
    facts.cpu_vendor = first.vendor_id;
    facts.cpu_family = number_or(first.cpu_family, -1);
    facts.cpu_model_number = number_or(first.model, -1);
    facts.cpu_stepping = number_or(first.stepping, -1);
    facts.arm_implementer = lower(first.cpu_implementer);
    facts.arm_part = lower(first.cpu_part);
  }
  facts.sys_vendor = std::string(trim_space(sys_vendor));
  facts.product_name = std::string(trim_space(product_name));
  facts.bios_vendor = std::string(trim_space(bios_vendor));
  facts.bios_version = std::string(trim_space(bios_version));
  return facts;
}

node_facts read_node_facts(const std::string& sysfs, const std::string& procfs) {
  auto cpuinfo = read_text_file(procfs + "/cpuinfo");
  const std::string dmi = sysfs + "/class/dmi/id/";
  return node_facts_from(cpuinfo ? cpuinfo.value() : std::string(), read_trimmed(dmi + "sys_vendor"),
                         read_trimmed(dmi + "product_name"), read_trimmed(dmi + "bios_vendor"),
                         read_trimmed(dmi + "bios_version"));
}

cloud_identity detect_cloud(const node_facts& facts) {
  const auto vendor = lower(facts.sys_vendor);
  if (vendor == "amazon ec2") {
    // Nitro instances name their type (m5.large, m5.metal); anything else is not a type.
    const bool is_type = facts.product_name.find('.') != std::string::npos;
    return {"aws", is_type ? facts.product_name : std::string()};
  }
  // Older Xen-based EC2 instances: sys_vendor Xen, BIOS version like 4.11.amazon.
  if (lower(facts.bios_version).find("amazon") != std::string::npos ||
      lower(facts.bios_vendor).find("amazon") != std::string::npos)
    return {"aws", ""};
  if (vendor == "google") return {"gcp", ""};
  if (vendor == "microsoft corporation" && lower(facts.product_name) == "virtual machine") return {"azure", ""};
  return {};
}

}  // namespace kepler
