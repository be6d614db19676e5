#include "bpf/cpu_time_reader.hpp"

#include "sensors/proc/procfs.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <ctime>

namespace kepler {
namespace {

constexpr std::size_t key_size = sizeof(cpu_time_process_key);
constexpr std::size_t cpu_state_stride = (sizeof(cpu_time_cpu_state) + 7) / 8 * 8;

error errno_error(const char* what) { return make_error(std::string(what) + ": " + std::strerror(errno)); }

process_id id_of(const std::byte* key_bytes) {
  cpu_time_process_key key;
  std::memcpy(&key, key_bytes, sizeof key);
  return {key.tgid, key.start_ns};
}

}  // namespace

result<std::unique_ptr<cpu_time_reader>> cpu_time_reader::create(const cpu_time_probe& probe,
                                                                 const reader_options& options) {
  std::unique_ptr<cpu_time_reader> reader(new cpu_time_reader(probe.maps(), options));
  if (reader->cpus_ == 0) return make_error("the probe reports no possible CPUs");
  if (auto mapped = reader->map_counters(); !mapped) return mapped.error();
  reader->flushing_ = probe.flushes();
  reader->rings_ = ring_buffer__new(probe.maps().exits, on_exit_event, reader.get(), nullptr);
  if (!reader->rings_) return errno_error("opening the process_exits ring buffer failed");
  if (ring_buffer__add(reader->rings_, probe.maps().meta_changes, on_meta_change, reader.get()) != 0)
    return errno_error("opening the meta_changes ring buffer failed");
  return reader;
}

cpu_time_reader::cpu_time_reader(const cpu_time_maps& maps, const reader_options& options)
    : maps_(maps),
      options_(options),
      cpus_(maps.possible_cpus),
      cgroups_(maps.cgroups, sizeof(__u64), per_cpu_value_size(sizeof(__u64), cpus_), maps.max_cgroups),
      cpu_state_(cpus_ * cpu_state_stride),
      drops_(per_cpu_value_size(sizeof(__u64), cpus_)),
      slots_(maps.max_processes) {
  slot_of_.reserve(maps.max_processes);
  used_slots_.reserve(maps.max_processes);
}

cpu_time_reader::~cpu_time_reader() {
  ring_buffer__free(rings_);
  if (counters_) munmap(counters_, counters_bytes_);
}

result<void> cpu_time_reader::map_counters() {
  std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
  std::size_t bytes = std::size_t(maps_.max_processes) * cpus_ * sizeof(uint64_t);
  counters_bytes_ = (bytes + page - 1) / page * page;
  // Writable: a slot's counters are zeroed here before the slot is given back.
  void* mapped = mmap(nullptr, counters_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, maps_.process_cpu_ns, 0);
  if (mapped == MAP_FAILED) return errno_error("mapping the process_cpu_ns array failed");
  counters_ = static_cast<uint64_t*>(mapped);
  return {};
}

int cpu_time_reader::on_exit_event(void* self, void* data, std::size_t size) {
  auto* reader = static_cast<cpu_time_reader*>(self);
  if (size < sizeof(cpu_time_exit_event) || !reader->exits_sink_) return 0;
  cpu_time_exit_event event;
  std::memcpy(&event, data, sizeof event);
  reader->exits_sink_->push_back({event.tgid, event.start_ns});
  return 0;
}

int cpu_time_reader::on_meta_change(void* self, void* data, std::size_t size) {
  if (size < sizeof(cpu_time_meta_change)) return 0;
  cpu_time_meta_change change;
  std::memcpy(&change, data, sizeof change);
  static_cast<cpu_time_reader*>(self)->remember({change.key.tgid, change.key.start_ns}, change.meta);
  return 0;
}

void cpu_time_reader::remember(const process_id& id, const cpu_time_process_meta& meta) {
  if (meta.slot >= slots_.size()) return;  // the probe never hands such a slot out
  if (retired_at_.contains(id)) {
    // Charged again after the read that reported its exit: the probe made it a new entry.
    ++charged_after_exit_;
    cpu_time_process_key key{id.tgid, 0, id.start_ns};
    bpf_map_delete_elem(maps_.processes, &key);
    retired_slots_.push_back({meta.slot, 0});
    return;
  }
  slot_entry& entry = slots_[meta.slot];
  if (entry.used && entry.id != id) slot_of_.erase(entry.id);  // given back and taken again
  entry = {id, meta, true};
  slot_of_[id] = meta.slot;
}

result<cpu_time_snapshot> cpu_time_reader::read() {
  cpu_time_snapshot snapshot;
  if (auto done = read(snapshot); !done) return done.error();
  return snapshot;
}

result<void> cpu_time_reader::read(cpu_time_snapshot& out) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  out.monotonic_ns = uint64_t(now.tv_sec) * 1'000'000'000u + uint64_t(now.tv_nsec);

  // The flush first: a process it charges for the first time (a child still in its first
  // slice) is described in the ring it then drains, so the read reports it at once. After the
  // flushes no CPU caches a process retired by the last read: its slot can be given back.
  if (flushing_) flush_cpus();
  release_retired_slots();
  out.exits.clear();
  exits_sink_ = &out.exits;
  int consumed = ring_buffer__consume(rings_);
  exits_sink_ = nullptr;
  if (consumed < 0) return make_error("draining the ring buffers failed: " + std::string(std::strerror(-consumed)));
  std::sort(out.exits.begin(), out.exits.end());  // two threads exiting at once both report
  out.exits.erase(std::unique(out.exits.begin(), out.exits.end()), out.exits.end());
  // Only processes this read lists (not one already retired whose straggler also reported).
  std::erase_if(out.exits, [this](const process_id& id) { return !slot_of_.contains(id); });

  uint32_t zero = 0;
  if (bpf_map_lookup_elem(maps_.cpu_state, &zero, cpu_state_.data()) != 0)
    return errno_error("reading cpu_state failed");
  out.idle_ns = sum_per_cpu(cpu_state_.data(), cpus_, cpu_state_stride, offsetof(cpu_time_cpu_state, idle_ns));
  for (uint32_t kind = 0; kind < CPU_TIME_DROP_KINDS; ++kind) {
    if (bpf_map_lookup_elem(maps_.drops, &kind, drops_.data()) != 0) return errno_error("reading drops failed");
    out.drops[kind] = sum_per_cpu(drops_.data(), cpus_);
  }
  // Changes lost to a full ring (or never seen, before the first read): re-read the truth.
  if (reads_ == 0 || out.drops[CPU_TIME_DROP_META_CHANGE] > meta_change_drops_seen_) {
    meta_change_drops_seen_ = out.drops[CPU_TIME_DROP_META_CHANGE];
    if (auto reread = reread_meta(); !reread) return reread;
  }
  if (auto read = cgroups_.read(); !read) return read.error();

  join_processes(out);
  out.cgroups.resize(cgroups_.size());
  for (std::size_t i = 0; i < cgroups_.size(); ++i) {
    std::memcpy(&out.cgroups[i].cgroup_id, cgroups_.key(i), sizeof(uint64_t));
    out.cgroups[i].cpu_ns = sum_per_cpu(cgroups_.value(i), cpus_);
  }
  out.process_fill = {slot_of_.size(), maps_.max_processes};
  out.cgroup_fill = {cgroups_.size(), maps_.max_cgroups};

  ++reads_;
  // Reported with their final totals just now: retire them.
  std::erase_if(retired_at_, [this](const auto& entry) { return entry.second + 2 < reads_; });
  for (const auto& gone : out.exits) retire(gone);
  bool exits_lost = out.drops[CPU_TIME_DROP_EXIT] > exit_drops_seen_;
  exit_drops_seen_ = out.drops[CPU_TIME_DROP_EXIT];
  if (exits_lost || (options_.sweep_every_reads && reads_ % options_.sweep_every_reads == 0)) sweep(out);
  out.charged_after_exit = charged_after_exit_;
  return {};
}

void cpu_time_reader::flush_cpus() {
  read_online_cpus(options_.sysfs_root, online_cpus_, uint32_t(cpus_));
  bpf_test_run_opts run{};
  run.sz = sizeof run;
  run.flags = BPF_F_TEST_RUN_ON_CPU;
  for (uint32_t cpu : online_cpus_) {
    run.cpu = cpu;
    bpf_prog_test_run_opts(maps_.flush_program, &run);  // ENXIO: went offline, nothing to flush
  }
}

result<void> cpu_time_reader::reread_meta() {
  ++meta_rereads_;
  map_dump dump(maps_.processes, key_size, sizeof(cpu_time_process_meta), maps_.max_processes);
  auto read = dump.read();
  if (!read) return read.error();
  for (auto& entry : slots_) entry.used = false;
  slot_of_.clear();
  for (std::size_t i = 0; i < dump.size(); ++i) {
    cpu_time_process_meta meta;
    std::memcpy(&meta, dump.value(i), sizeof meta);
    remember(id_of(dump.key(i)), meta);
  }
  return {};
}

void cpu_time_reader::join_processes(cpu_time_snapshot& out) {
  used_slots_.clear();
  for (uint32_t slot = 0; slot < slots_.size(); ++slot)
    if (slots_[slot].used) used_slots_.push_back(slot);
  out.processes.resize(used_slots_.size());  // keeps the strings' storage of earlier reads
  for (std::size_t i = 0; i < used_slots_.size(); ++i) {
    const slot_entry& entry = slots_[used_slots_[i]];
    auto& process = out.processes[i];
    process.tgid = entry.id.tgid;
    process.start_ns = entry.id.start_ns;
    process.cpu_ns = 0;
    process.comm.assign(entry.meta.comm, strnlen(entry.meta.comm, CPU_TIME_COMM_LEN));  // SSO
    process.cgroup_id = entry.meta.cgroup_id;
  }
  // CPU by CPU: each CPU's counters are one contiguous region, read in slot order.
  for (std::size_t cpu = 0; cpu < cpus_; ++cpu) {
    const uint64_t* region = counters_ + cpu * maps_.max_processes;
    for (std::size_t i = 0; i < used_slots_.size(); ++i)
      out.processes[i].cpu_ns += __atomic_load_n(&region[used_slots_[i]], __ATOMIC_RELAXED);
  }
}

void cpu_time_reader::retire(const process_id& id) {
  cpu_time_process_key key{id.tgid, 0, id.start_ns};
  bpf_map_delete_elem(maps_.processes, &key);  // the probe finds it no more, takes no new slot
  retired_at_[id] = reads_;
  auto found = slot_of_.find(id);
  if (found == slot_of_.end()) return;
  uint32_t slot = found->second;
  slot_of_.erase(found);
  slots_[slot].used = false;
  retired_slots_.push_back({slot, slot_sum(slot)});
}

uint64_t cpu_time_reader::slot_sum(uint32_t slot) const {
  uint64_t sum = 0;
  for (std::size_t cpu = 0; cpu < cpus_; ++cpu)
    sum += __atomic_load_n(&counters_[cpu * maps_.max_processes + slot], __ATOMIC_RELAXED);
  return sum;
}

void cpu_time_reader::release_retired_slots() {
  for (const auto& retired : retired_slots_) {
    if (slot_sum(retired.slot) != retired.reported_ns) ++charged_after_exit_;
    for (std::size_t cpu = 0; cpu < cpus_; ++cpu)
      __atomic_store_n(&counters_[cpu * maps_.max_processes + retired.slot], uint64_t{0}, __ATOMIC_RELAXED);
    bpf_map_update_elem(maps_.free_slots, nullptr, &retired.slot, BPF_ANY);  // room for every slot
  }
  retired_slots_.clear();
}

void cpu_time_reader::sweep(cpu_time_snapshot& out) {
  // kill()/proc only describe our pid namespace: confirm it is the host's by finding
  // ourselves in the map under our own pid and start time, else never sweep.
  if (!host_pid_namespace_) {
    auto self = std::find_if(out.processes.begin(), out.processes.end(),
                             [pid = uint32_t(getpid())](const auto& p) { return p.tgid == pid; });
    if (self == out.processes.end()) return;  // not charged yet: decide at a later sweep
    host_pid_namespace_ = process_alive(options_.procfs_root, self->tgid, self->start_ns);
  }
  if (!*host_pid_namespace_) return;
  for (const auto& process : out.processes) {
    process_id id{process.tgid, process.start_ns};
    if (!slot_of_.contains(id)) continue;  // retired already (an exit this read)
    if (process_alive(options_.procfs_root, process.tgid, process.start_ns)) continue;
    retire(id);  // reported just now, like an exit
    out.exits.push_back(id);
    ++swept_;
  }
}

void cpu_time_reader::forget_cgroups(const std::vector<uint64_t>& cgroup_ids) {
  for (uint64_t id : cgroup_ids) bpf_map_delete_elem(maps_.cgroups, &id);
}

}  // namespace kepler
