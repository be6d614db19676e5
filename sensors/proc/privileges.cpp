#include "sensors/proc/privileges.hpp"

#include <unistd.h>

#include <array>
#include <charconv>

#include "base/text.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {
namespace {

/// Names by bit number, as in <linux/capability.h> up to CAP_CHECKPOINT_RESTORE (Linux 5.9).
constexpr std::array<std::string_view, 41> capability_table{"CAP_CHOWN",
                                                            "CAP_DAC_OVERRIDE",
                                                            "CAP_DAC_READ_SEARCH",
                                                            "CAP_FOWNER",
                                                            "CAP_FSETID",
                                                            "CAP_KILL",
                                                            "CAP_SETGID",
                                                            "CAP_SETUID",
                                                            "CAP_SETPCAP",
                                                            "CAP_LINUX_IMMUTABLE",
                                                            "CAP_NET_BIND_SERVICE",
                                                            "CAP_NET_BROADCAST",
                                                            "CAP_NET_ADMIN",
                                                            "CAP_NET_RAW",
                                                            "CAP_IPC_LOCK",
                                                            "CAP_IPC_OWNER",
                                                            "CAP_SYS_MODULE",
                                                            "CAP_SYS_RAWIO",
                                                            "CAP_SYS_CHROOT",
                                                            "CAP_SYS_PTRACE",
                                                            "CAP_SYS_PACCT",
                                                            "CAP_SYS_ADMIN",
                                                            "CAP_SYS_BOOT",
                                                            "CAP_SYS_NICE",
                                                            "CAP_SYS_RESOURCE",
                                                            "CAP_SYS_TIME",
                                                            "CAP_SYS_TTY_CONFIG",
                                                            "CAP_MKNOD",
                                                            "CAP_LEASE",
                                                            "CAP_AUDIT_WRITE",
                                                            "CAP_AUDIT_CONTROL",
                                                            "CAP_SETFCAP",
                                                            "CAP_MAC_OVERRIDE",
                                                            "CAP_MAC_ADMIN",
                                                            "CAP_SYSLOG",
                                                            "CAP_WAKE_ALARM",
                                                            "CAP_BLOCK_SUSPEND",
                                                            "CAP_AUDIT_READ",
                                                            "CAP_PERFMON",
                                                            "CAP_BPF",
                                                            "CAP_CHECKPOINT_RESTORE"};

constexpr capability_mask known_capabilities = (capability_mask{1} << capability_table.size()) - 1;

/// The value after `<field>:` on a line of its own, or nullopt.
std::optional<std::string_view> status_field(std::string_view status, std::string_view field) {
  while (!status.empty()) {
    const auto end = status.find('\n');
    const auto line = status.substr(0, end);
    if (line.size() > field.size() && line.starts_with(field) && line[field.size()] == ':')
      return trim_space(line.substr(field.size() + 1));
    if (end == std::string_view::npos) break;
    status.remove_prefix(end + 1);
  }
  return std::nullopt;
}

std::string hex16(capability_mask mask) {
  std::array<char, 16> digits{};
  auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), mask, 16);
  (void)ec;  // 16 digits always fit a 64-bit value
  const auto length = static_cast<std::size_t>(end - digits.data());
  return std::string(16 - length, '0') + std::string(digits.data(), length);
}

}  // namespace

result<capability_mask> parse_status_capabilities(std::string_view status, std::string_view field) {
  const auto value = status_field(status, field);
  if (!value) return make_error("no " + std::string(field) + " line in the process status");
  capability_mask mask = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), mask, 16);
  if (value->empty() || ec != std::errc{} || end != value->data() + value->size())
    return make_error("invalid " + std::string(field) + " in the process status: '" + std::string(*value) + "'");
  return mask;
}

std::string capability_names(capability_mask mask) {
  if (mask == 0) return "none";
  if (mask == known_capabilities) return "all (" + std::to_string(capability_table.size()) + ")";
  std::string names;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if ((mask & (capability_mask{1} << bit)) == 0) continue;
    if (!names.empty()) names += ", ";
    names += bit < capability_table.size() ? std::string(capability_table[bit]) : "cap_" + std::to_string(bit);
  }
  return names;
}

process_ids current_process_ids() {
  return {static_cast<uint32_t>(::getuid()), static_cast<uint32_t>(::geteuid()), static_cast<uint32_t>(::getgid()),
          static_cast<uint32_t>(::getegid())};
}

std::optional<std::string> elevated_start_reason(const process_ids& ids) {
  if (ids.uid != ids.euid)
    return "refusing to run setuid (real uid " + std::to_string(ids.uid) + ", effective uid " +
           std::to_string(ids.euid) +
           "): start kepler as the user it should run as, with only the "
           "capabilities it needs";
  if (ids.gid != ids.egid)
    return "refusing to run setgid (real gid " + std::to_string(ids.gid) + ", effective gid " +
           std::to_string(ids.egid) +
           "): start kepler as the user it should run as, with only the "
           "capabilities it needs";
  return std::nullopt;
}

std::string describe_privileges(const std::string& procfs_root, const process_ids& ids) {
  std::string text = "running as uid " + std::to_string(ids.uid) + ", gid " + std::to_string(ids.gid);
  auto status = read_text_file(procfs_root + "/self/status");
  auto mask =
      status ? parse_status_capabilities(status.value()) : result<capability_mask>(make_error(status.error_message()));
  if (!mask) return text + "; effective capabilities unknown: " + mask.error_message();
  return text + " with effective capabilities " + hex16(mask.value()) + ": " + capability_names(mask.value());
}

}  // namespace kepler
