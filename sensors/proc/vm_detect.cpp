#include "sensors/proc/vm_detect.hpp"

#include <cstdint>
#include <string_view>

// Matching rules, as v0.11's patterns (docs/compatibility.md §4.5, §11) but hand-written and tightened where the
// regexes misfire:
// - Only argv[0] is matched. v0.11 also searched the whole command line, which makes
//   `sudo /usr/bin/qemu-system-x86_64 …`, `strace …` or `ls /usr/bin/kvm` VMs too; a wrapper
//   that shares the guest's -uuid would then compete with the real qemu for the VM's CPU.
// - The pattern must be argv[0]'s last path component, preceded by its directory suffix
//   (`bin/`, `libexec/`, `virtualbox/`): `/home/u/qemu-system-x86_64/bin/python` is no VM.
// - A bare `qemu-system-x86_64` (started through $PATH) is not matched, as in v0.11: without
//   a `bin/` component the patterns never match. libvirt, Proxmox, Xen and VBoxSVC all start
//   their hypervisors by absolute path.
// - The binary name is a prefix, as the unanchored regexes were (so Debian's
//   `qemu-system-x86_64-microvm` and `vmware-vmx-debug` count), except `kvm`, which must be
//   the whole name: `bin/kvm` as a prefix also matches the `kvm_stat` and `kvm-ok` tools.
// - The VirtualBox directory is compared without case: Oracle's .run installer uses
//   /opt/VirtualBox, the packages /usr/lib/virtualbox.

namespace kepler {

namespace {

using args = std::vector<std::string>;

constexpr bool is_word(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ends_with_icase(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  text.remove_prefix(text.size() - suffix.size());
  for (std::size_t i = 0; i < suffix.size(); ++i)
    if (lower(text[i]) != lower(suffix[i])) return false;
  return true;
}

enum class family { none, qemu, virtualbox, vmware };

/// Which hypervisor binary argv[0] is, from its last component and the directory before it.
family classify(std::string_view exe) {
  const auto slash = exe.rfind('/');
  if (slash == std::string_view::npos) return family::none;
  const auto dir = exe.substr(0, slash);
  const auto base = exe.substr(slash + 1);
  if (dir.ends_with("bin")) {
    constexpr std::string_view qemu_system = "qemu-system-";
    if (base.starts_with(qemu_system) && base.size() > qemu_system.size() && is_word(base[qemu_system.size()]))
      return family::qemu;
    if (base == "kvm") return family::qemu;  // Proxmox
    if (base.starts_with("vmware-vmx")) return family::vmware;
  }
  if (dir.ends_with("libexec") && base.starts_with("qemu-kvm")) return family::qemu;  // RHEL
  if (ends_with_icase(dir, "virtualbox") &&
      (base.starts_with("VBoxHeadless") || base.starts_with("VBoxSDL") || base.starts_with("VirtualBoxVM")))
    return family::virtualbox;
  return family::none;
}

/// The value of option `name` written `-name v`, `--name v`, `-name=v` or `--name=v`; the
/// first occurrence wins; empty when absent (an empty value counts as absent).
std::string_view option_value(const args& argv, std::string_view name) {
  for (std::size_t i = 1; i < argv.size(); ++i) {
    std::string_view arg = argv[i];
    if (!arg.starts_with('-')) continue;
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);  // qemu and VirtualBox accept both
    if (!arg.starts_with(name)) continue;
    arg.remove_prefix(name.size());
    if (arg.empty()) return i + 1 < argv.size() ? std::string_view(argv[i + 1]) : "";
    if (arg.front() == '=') return arg.substr(1);
  }
  return {};
}

/// The guest name in a qemu `-name` value, read as QEMU reads it: comma-separated options
/// where `,,` is a literal comma, the name is `guest=<v>` or the first option when it has no
/// key (QEMU's implied `guest`). libvirt writes `guest=dom,debug-threads=on`, Proxmox
/// `dom,debug-threads=on`; v0.11 kept the latter whole.
std::string qemu_guest_name(std::string_view value) {
  std::string part;
  bool first = true;
  for (std::size_t i = 0;; ++i) {
    const bool at_end = i == value.size();
    if (!at_end && value[i] == ',' && i + 1 < value.size() && value[i + 1] == ',') {
      part += ',';
      ++i;
    } else if (at_end || value[i] == ',') {
      if (part.starts_with("guest=")) return part.substr(6);
      if (first && part.find('=') == std::string::npos) return part;
      if (at_end) return {};
      part.clear();
      first = false;
    } else {
      part += value[i];
    }
  }
}

/// The base name of the last `.vmx` argument without its extension: VMware passes the VM's
/// configuration file last.
std::string_view vmx_name(const args& argv) {
  constexpr std::string_view ext = ".vmx";
  for (std::size_t i = argv.size(); i-- > 1;) {
    std::string_view arg = argv[i];
    if (!arg.ends_with(ext)) continue;
    arg.remove_suffix(ext.size());
    const auto slash = arg.rfind('/');
    return slash == std::string_view::npos ? arg : arg.substr(slash + 1);
  }
  return {};
}

}  // namespace

std::string generated_vm_id(const std::vector<std::string>& cmdline) {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64 offset basis
  const auto mix = [&hash](unsigned char byte) {
    hash ^= byte;
    hash *= 1099511628211ULL;  // FNV 64 prime
  };
  for (const auto& arg : cmdline) {
    for (const char c : arg) mix(static_cast<unsigned char>(c));
    mix(0);  // the NUL /proc/<pid>/cmdline ends each argument with
  }
  constexpr char digits[] = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4) id[i] = digits[hash & 0xf];
  return id;
}

std::optional<vm_identity> detect_vm(const std::vector<std::string>& cmdline) {
  if (cmdline.empty()) return std::nullopt;
  const auto kind = classify(cmdline.front());
  if (kind == family::none) return std::nullopt;

  vm_identity vm;
  std::string_view explicit_id;
  switch (kind) {
    case family::qemu:
      vm.name = qemu_guest_name(option_value(cmdline, "name"));
      if (const auto domid = option_value(cmdline, "xen-domid"); !domid.empty()) {
        vm.hypervisor = "xen";  // Xen's device model is qemu; its domain id names the guest
        explicit_id = domid;
      } else {
        vm.hypervisor = "kvm";
        explicit_id = option_value(cmdline, "uuid");
      }
      break;
    case family::virtualbox:
      vm.hypervisor = "virtualbox";
      vm.name = option_value(cmdline, "comment");
      explicit_id = option_value(cmdline, "startvm");
      break;
    case family::vmware:
      vm.hypervisor = "vmware";
      vm.name = vmx_name(cmdline);
      explicit_id = vm.name;
      break;
    case family::none: break;
  }
  vm.id = !explicit_id.empty() ? std::string(explicit_id) : !vm.name.empty() ? vm.name : generated_vm_id(cmdline);
  // substr clamps, so ids shorter than 8 (a Xen domid) are used whole; v0.11.0 panicked.
  if (vm.name.empty()) vm.name = vm.hypervisor + "-" + vm.id.substr(0, 8);
  return vm;
}

}  // namespace kepler
