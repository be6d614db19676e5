#include "bpf/process_table_builder.hpp"

#include <algorithm>

#include <fcntl.h>
#include <unistd.h>

#include <string_view>

#include "sensors/proc/container_identity.hpp"
#include "sensors/proc/process_classifier.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {
namespace {

/// readlink of <pid>/exe relative to the /proc descriptor; empty when unavailable.
std::string read_exe(int procfs_fd, const std::string& pid) {
  char target[4096];
  ssize_t n = ::readlinkat(procfs_fd, (pid + "/exe").c_str(), target, sizeof target);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

ebpf_table_builder::ebpf_table_builder(std::string procfs_root, std::unique_ptr<cgroup_paths> cgroups,
                                       unsigned online_cpus, uint64_t cgroup_sweep_every)
    : procfs_root_(std::move(procfs_root)),
      procfs_fd_(::open(procfs_root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)),
      cgroups_(std::move(cgroups)),
      online_cpus_(online_cpus),
      cgroup_sweep_every_(std::max<uint64_t>(cgroup_sweep_every, 1)) {}

ebpf_table_builder::~ebpf_table_builder() {
  if (procfs_fd_ >= 0) ::close(procfs_fd_);
}

process_table ebpf_table_builder::build(const cpu_time_snapshot& read, uint64_t uptime_ns) {
  ++builds_;
  if (cgroups_) cgroups_->begin_read();
  process_table table;
  table.ns_per_tick = 1;
  table.uptime_ns = uptime_ns;
  table.counters_from_zero = true;
  // Busy time is what the CPUs did other than run their idle task, on the probe's clock.
  uint64_t elapsed = read.monotonic_ns * online_cpus_;
  table.node.idle = read.idle_ns;
  table.node.user = elapsed > read.idle_ns ? elapsed - read.idle_ns : 0;
  table.processes.reserve(read.processes.size());
  for (const auto& process : read.processes) {
    process_key key{static_cast<int32_t>(process.tgid), process.start_ns};
    auto [it, inserted] = cache_.try_emplace(key);
    if (inserted) it->second.info = metadata(process);
    it->second.seen_in_build = builds_;
    table.processes.push_back(process_sample{key, process.cpu_ns, it->second.info});
  }
  std::erase_if(cache_, [this](const auto& entry) { return entry.second.seen_in_build != builds_; });
  return table;
}

std::vector<uint64_t> ebpf_table_builder::vanished_cgroups(const cpu_time_snapshot& read) {
  std::vector<uint64_t> vanished;
  if (!cgroups_ || builds_ % cgroup_sweep_every_ != 0) return vanished;
  std::unordered_set<uint64_t> missing;
  for (const auto& cgroup : read.cgroups) {
    if (cgroups_->exists(cgroup.cgroup_id)) continue;
    if (missing_cgroups_.contains(cgroup.cgroup_id)) vanished.push_back(cgroup.cgroup_id);
    else missing.insert(cgroup.cgroup_id);
  }
  missing_cgroups_ = std::move(missing);
  return vanished;
}

std::shared_ptr<const process_info> ebpf_table_builder::metadata(const process_cpu_time& process) {
  auto info = std::make_shared<process_info>();
  info->comm = process.comm;
  std::string pid = std::to_string(process.tgid);
  // /proc knows more (exe, command line, cgroup v1 paths), while the process lives.
  if (procfs_fd_ >= 0 && process_alive(procfs_root_, process.tgid, process.start_ns)) {
    info->exe = read_exe(procfs_fd_, pid);
    classify_process(process_files(procfs_fd_, pid.c_str(), pid.size()), *info);
  }
  if (info->type != process_type::regular) return info;
  // Gone before (or while) we looked: the cgroup the probe saw still tells whether it ran in
  // a container.
  if (const std::string* path = cgroups_ ? cgroups_->find(process.cgroup_id) : nullptr) {
    auto container = parse_cgroup_path(*path);
    if (container.is_container()) {
      info->type = process_type::container;
      info->container_id = std::move(container.id);
      info->runtime = std::move(container.runtime);
      info->pod_id = std::move(container.pod_uid);
    }
  }
  return info;
}

}  // namespace kepler
