#include "bpf/cpu_time_reader.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace kepler {
namespace {

using process_key = cpu_time_process_key;
constexpr std::size_t key_size = sizeof(process_key);
constexpr std::size_t cpu_state_stride = (sizeof(cpu_time_cpu_state) + 7) / 8 * 8;

std::size_t slot_count_for(std::size_t entries) {
  std::size_t slots = 1;
  while (slots < 2 * entries) slots <<= 1;  // load factor ≤ 1/2 keeps probe chains short
  return slots;
}

std::size_t hash_key(const std::byte* key) {
  process_key k;
  std::memcpy(&k, key, sizeof k);
  uint64_t h = (uint64_t{k.tgid} * 0x9E3779B97F4A7C15ull) ^ (k.start_ns * 0xC2B2AE3D27D4EB4Full);
  return static_cast<std::size_t>(h ^ (h >> 29));
}

error errno_error(const char* what) { return make_error(std::string(what) + ": " + std::strerror(errno)); }

}  // namespace

result<std::unique_ptr<cpu_time_reader>> cpu_time_reader::create(const cpu_time_probe& probe,
                                                                  const reader_options& options) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return make_error("counting possible CPUs failed: " + std::string(std::strerror(-cpus)));
  std::unique_ptr<cpu_time_reader> reader(new cpu_time_reader(probe.maps(), options, cpus));
  reader->ring_ = ring_buffer__new(probe.maps().exits, on_exit_event, reader.get(), nullptr);
  if (!reader->ring_) return errno_error("opening the process_exits ring buffer failed");
  return reader;
}

cpu_time_reader::cpu_time_reader(const cpu_time_maps& maps, const reader_options& options, std::size_t cpus)
    : maps_(maps), options_(options), cpus_(cpus),
      processes_(maps.processes, key_size, per_cpu_value_size(sizeof(__u64), cpus), maps.max_processes),
      meta_(maps.process_meta, key_size, sizeof(cpu_time_process_meta), maps.max_processes),
      cgroups_(maps.cgroups, sizeof(__u64), per_cpu_value_size(sizeof(__u64), cpus), maps.max_cgroups),
      cpu_state_(cpus * cpu_state_stride), drops_(per_cpu_value_size(sizeof(__u64), cpus)),
      meta_slots_(slot_count_for(maps.max_processes + 64)) {}

cpu_time_reader::~cpu_time_reader() { ring_buffer__free(ring_); }

int cpu_time_reader::on_exit_event(void* self, void* data, std::size_t size) {
  auto* reader = static_cast<cpu_time_reader*>(self);
  if (size < sizeof(cpu_time_exit_event) || !reader->exits_sink_) return 0;
  cpu_time_exit_event event;
  std::memcpy(&event, data, sizeof event);
  reader->exits_sink_->push_back({event.tgid, event.start_ns});
  return 0;
}

result<cpu_time_snapshot> cpu_time_reader::read() {
  cpu_time_snapshot snapshot;
  if (auto failed = read(snapshot)) return *failed;
  return snapshot;
}

std::optional<error> cpu_time_reader::read(cpu_time_snapshot& out) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  out.monotonic_ns = uint64_t(now.tv_sec) * 1'000'000'000u + uint64_t(now.tv_nsec);

  // Exits first: a process reported as exited is then also in this read's maps.
  out.exits.clear();
  exits_sink_ = &out.exits;
  int consumed = ring_buffer__consume(ring_);
  exits_sink_ = nullptr;
  if (consumed < 0) return make_error("draining process_exits failed: " + std::string(std::strerror(-consumed)));
  std::sort(out.exits.begin(), out.exits.end());  // two threads exiting at once both report
  out.exits.erase(std::unique(out.exits.begin(), out.exits.end()), out.exits.end());

  if (flushing_) flush_cpus();
  for (map_dump* dump : {&processes_, &meta_, &cgroups_})
    if (auto read = dump->read(); !read) return error{read.error_message()};

  uint32_t zero = 0;
  if (bpf_map_lookup_elem(maps_.cpu_state, &zero, cpu_state_.data()) != 0) return errno_error("reading cpu_state failed");
  out.idle_ns = sum_per_cpu(cpu_state_.data(), cpus_, cpu_state_stride, offsetof(cpu_time_cpu_state, idle_ns));
  for (uint32_t kind = 0; kind < CPU_TIME_DROP_KINDS; ++kind) {
    if (bpf_map_lookup_elem(maps_.drops, &kind, drops_.data()) != 0) return errno_error("reading drops failed");
    out.drops[kind] = sum_per_cpu(drops_.data(), cpus_);
  }

  join_processes(out);
  out.cgroups.resize(cgroups_.size());
  for (std::size_t i = 0; i < cgroups_.size(); ++i) {
    std::memcpy(&out.cgroups[i].cgroup_id, cgroups_.key(i), sizeof(uint64_t));
    out.cgroups[i].cpu_ns = sum_per_cpu(cgroups_.value(i), cpus_);
  }
  out.process_fill = {processes_.size(), maps_.max_processes};
  out.meta_fill = {meta_.size(), maps_.max_processes};
  out.cgroup_fill = {cgroups_.size(), maps_.max_cgroups};

  // Entries reported as gone in the previous read were reported once more just now: retire.
  for (const auto& gone : retiring_) {
    process_key key{gone.tgid, 0, gone.start_ns};
    bpf_map_delete_elem(maps_.processes, &key);  // ENOENT is fine: it never ran after exit
    bpf_map_delete_elem(maps_.process_meta, &key);
  }
  retiring_.assign(out.exits.begin(), out.exits.end());

  ++reads_;
  bool exits_lost = out.drops[CPU_TIME_DROP_EXIT] > exit_drops_seen_;
  exit_drops_seen_ = out.drops[CPU_TIME_DROP_EXIT];
  if (exits_lost || (options_.sweep_every_reads && reads_ % options_.sweep_every_reads == 0)) sweep(out);
  return std::nullopt;
}

void cpu_time_reader::flush_cpus() {
  char text[256];
  int fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
  ssize_t length = fd < 0 ? -1 : ::read(fd, text, sizeof text);
  if (fd >= 0) close(fd);
  if (length <= 0 || !parse_cpu_list(std::string_view(text, std::size_t(length)), online_cpus_)) {
    online_cpus_.clear();  // unknown: try every possible CPU, offline ones fail with ENXIO
    for (uint32_t cpu = 0; cpu < cpus_; ++cpu) online_cpus_.push_back(cpu);
  }
  bpf_test_run_opts run{};
  run.sz = sizeof run;
  run.flags = BPF_F_TEST_RUN_ON_CPU;
  for (uint32_t cpu : online_cpus_) {
    run.cpu = cpu;
    int rc = bpf_prog_test_run_opts(maps_.flush_program, &run);
    if (rc < 0 && batch_unsupported(rc)) {  // < 5.10: no test run on a chosen CPU
      flushing_ = false;
      return;
    }
  }
}

void cpu_time_reader::join_processes(cpu_time_snapshot& out) {
  // Index the metadata by key in a flat table (no per-entry allocation), then join.
  std::fill(meta_slots_.begin(), meta_slots_.end(), 0u);
  const std::size_t mask = meta_slots_.size() - 1;
  for (std::size_t i = 0; i < meta_.size(); ++i) {
    std::size_t slot = hash_key(meta_.key(i)) & mask;
    while (meta_slots_[slot] != 0) slot = (slot + 1) & mask;
    meta_slots_[slot] = static_cast<uint32_t>(i + 1);
  }
  out.processes.resize(processes_.size());  // keeps the strings' storage of earlier reads
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    auto& process = out.processes[i];
    const std::byte* key = processes_.key(i);
    process_key k;
    std::memcpy(&k, key, sizeof k);
    process.tgid = k.tgid;
    process.start_ns = k.start_ns;
    process.cpu_ns = sum_per_cpu(processes_.value(i), cpus_);
    process.comm.clear();
    process.cgroup_id = 0;
    for (std::size_t slot = hash_key(key) & mask; meta_slots_[slot] != 0; slot = (slot + 1) & mask) {
      std::size_t m = meta_slots_[slot] - 1;
      if (std::memcmp(meta_.key(m), key, key_size) != 0) continue;
      cpu_time_process_meta meta;
      std::memcpy(&meta, meta_.value(m), sizeof meta);
      process.comm.assign(meta.comm, strnlen(meta.comm, sizeof meta.comm));  // fits SSO
      process.cgroup_id = meta.cgroup_id;
      break;
    }
  }
}

void cpu_time_reader::sweep(const cpu_time_snapshot& out) {
  // kill()/proc only describe our pid namespace: confirm it is the host's by finding
  // ourselves in the map under our own pid and start time, else never sweep.
  if (!host_pid_namespace_) {
    auto self = std::find_if(out.processes.begin(), out.processes.end(),
                             [pid = uint32_t(getpid())](const auto& p) { return p.tgid == pid; });
    if (self == out.processes.end()) return;  // not charged yet: decide at a later sweep
    host_pid_namespace_ = process_alive(self->tgid, self->start_ns);
  }
  if (!*host_pid_namespace_) return;
  for (const auto& process : out.processes) {
    process_exit key{process.tgid, process.start_ns};
    if (std::binary_search(out.exits.begin(), out.exits.end(), key)) continue;  // already retiring
    if (process_alive(process.tgid, process.start_ns)) continue;
    retiring_.push_back(key);  // reported now, deleted after the next read like an exit
    ++swept_;
  }
}

void cpu_time_reader::forget_cgroups(const std::vector<uint64_t>& cgroup_ids) {
  for (uint64_t id : cgroup_ids) bpf_map_delete_elem(maps_.cgroups, &id);
}

bool parse_cpu_list(std::string_view text, std::vector<uint32_t>& cpus) {
  cpus.clear();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty()) return false;
  auto number = [](std::string_view digits, uint32_t& value) {
    if (digits.empty() || digits.size() > 9) return false;
    value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + uint32_t(c - '0');
    }
    return true;
  };
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view range = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto dash = range.find('-');
    uint32_t first = 0, last = 0;
    if (!number(range.substr(0, dash), first)) return false;
    if (dash == std::string_view::npos) last = first;
    else if (!number(range.substr(dash + 1), last) || last < first) return false;
    for (uint32_t cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  return true;
}

bool start_time_matches(uint64_t start_ns, uint64_t start_ticks, long ticks_per_second) {
  if (ticks_per_second <= 0) return true;
  uint64_t expected = start_ns / (1'000'000'000u / uint64_t(ticks_per_second));
  return start_ticks + 1 >= expected && start_ticks <= expected + 1;
}

std::optional<uint64_t> stat_start_ticks(std::string_view line) {
  auto paren = line.rfind(')');  // comm may contain spaces and ')'
  if (paren == std::string_view::npos) return std::nullopt;
  std::size_t pos = paren + 1;
  for (int field = 3; field <= 22; ++field) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (pos >= end) return std::nullopt;
    if (field == 22) {
      uint64_t value = 0;
      for (std::size_t i = pos; i < end; ++i) {
        if (line[i] < '0' || line[i] > '9') return std::nullopt;
        value = value * 10 + uint64_t(line[i] - '0');
      }
      return value;
    }
    pos = end;
  }
  return std::nullopt;
}

bool process_alive(uint32_t tgid, uint64_t start_ns) {
  if (kill(pid_t(tgid), 0) != 0 && errno == ESRCH) return false;
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%u/stat", tgid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno != ENOENT;  // unreadable for another reason: keep it
  char buffer[1024];
  ssize_t length = ::read(fd, buffer, sizeof buffer);
  close(fd);
  if (length <= 0) return true;
  auto ticks = stat_start_ticks(std::string_view(buffer, std::size_t(length)));
  static const long ticks_per_second = sysconf(_SC_CLK_TCK);
  return !ticks || start_time_matches(start_ns, *ticks, ticks_per_second);
}

}  // namespace kepler
