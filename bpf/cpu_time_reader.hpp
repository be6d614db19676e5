#pragma once
// Reads the cpu_time probe's maps: per-process and per-cgroup CPU time, idle time, exits,
// drops and map fill. Plain C++, synchronous; one reader per probe, from one thread.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpf/cpu_time.h"
#include "bpf/cpu_time_loader.hpp"
#include "bpf/host_info.hpp"
#include "bpf/map_batch.hpp"
#include "sensors/result.hpp"

struct ring_buffer;

namespace kepler {

/// One process's on-CPU time since the probe was attached (cumulative while its entry lives).
struct process_cpu_time {
  uint32_t tgid = 0;
  uint64_t start_ns = 0;   ///< group leader start, ns since boot (CLOCK_BOOTTIME)
  uint64_t cpu_ns = 0;     ///< summed over CPUs, up to the read (see cpu_time_reader::flushes)
  std::string comm;        ///< group leader's comm (after its last exec); empty if metadata dropped
  uint64_t cgroup_id = 0;  ///< cgroup v2 id (directory inode), follows moves; 0 = unknown
};

/// One cgroup's on-CPU time since the probe was attached.
struct cgroup_cpu_time {
  uint64_t cgroup_id = 0;
  uint64_t cpu_ns = 0;
};

/// A process: pid reuse never mixes two, thanks to the start time.
struct process_id {
  uint32_t tgid = 0;
  uint64_t start_ns = 0;
  friend auto operator<=>(const process_id&, const process_id&) = default;
};

/// How full a map is.
struct map_fill {
  std::size_t entries = 0;
  std::size_t max_entries = 0;
};

/// Everything one read returns. Counters are cumulative; the consumer takes deltas.
struct cpu_time_snapshot {
  uint64_t monotonic_ns = 0;  ///< CLOCK_MONOTONIC at the start of the read (the probe's clock)
  std::vector<process_cpu_time> processes;
  std::vector<cgroup_cpu_time> cgroups;
  std::vector<process_id> exits;  ///< exits seen since the previous read, each once
  uint64_t idle_ns = 0;             ///< idle-task time summed over CPUs
  std::array<uint64_t, CPU_TIME_DROP_KINDS> drops{};  ///< indexed by CPU_TIME_DROP_*
  map_fill process_fill, cgroup_fill;  ///< processes: slots in use
};

/// Reader tuning.
struct reader_options {
  /// Every this many reads, entries of processes that no longer exist are retired even without
  /// an exit event (one lost to a full ring buffer). 0 = only after exit events were dropped.
  uint32_t sweep_every_reads = 60;
};

/// Reads the probe's maps. A process is reported with its exit, then once more at the next
/// read (its final slice is charged at its last sched_switch, after the exit event), and only
/// then deleted from the maps and its slot given back. Metadata and slots are kept here,
/// updated from the meta_changes ring (the processes map is re-read in full only when that
/// ring overflowed); the per-CPU counters are read from the mapped process_cpu_ns array.
class cpu_time_reader {
 public:
  /// The probe must outlive the reader.
  static result<std::unique_ptr<cpu_time_reader>> create(const cpu_time_probe& probe,
                                                         const reader_options& options = {});
  ~cpu_time_reader();
  cpu_time_reader(const cpu_time_reader&) = delete;
  cpu_time_reader& operator=(const cpu_time_reader&) = delete;

  /// Reads everything into `out`, reusing its vectors' capacity; nullopt on success.
  std::optional<error> read(cpu_time_snapshot& out);

  /// Reads everything into a new snapshot.
  result<cpu_time_snapshot> read();

  /// Deletes the counters of cgroups known to be gone; their ids would otherwise fill the map.
  void forget_cgroups(const std::vector<uint64_t>& cgroup_ids);

  /// Entries retired by the liveness sweep because their exit event was never seen.
  uint64_t swept() const { return swept_; }

  /// Full re-reads of processes (the first read, then one per meta_changes overflow).
  uint64_t meta_rereads() const { return meta_rereads_; }

  /// Whether each read first flushes every CPU (see cpu_time_probe::flushes).
  bool flushes() const { return flushing_; }

 private:
  struct id_hash {
    std::size_t operator()(const process_id& id) const {
      uint64_t h = (uint64_t{id.tgid} * 0x9E3779B97F4A7C15ull) ^ (id.start_ns * 0xC2B2AE3D27D4EB4Full);
      return std::size_t(h ^ (h >> 29));
    }
  };
  /// What occupies one counter slot.
  struct slot_entry {
    process_id id;
    cpu_time_process_meta meta{};
    bool used = false;
  };
  cpu_time_reader(const cpu_time_maps& maps, const reader_options& options);
  static int on_exit_event(void* self, void* data, std::size_t size);
  static int on_meta_change(void* self, void* data, std::size_t size);
  std::optional<error> map_counters();
  void remember(const process_id& id, const cpu_time_process_meta& meta);
  void flush_cpus();
  std::optional<error> reread_meta();
  void join_processes(cpu_time_snapshot& out);
  void retire(const process_id& id);
  void sweep(const cpu_time_snapshot& out);

  cpu_time_maps maps_;
  reader_options options_;
  std::size_t cpus_;
  map_dump cgroups_;
  std::vector<std::byte> cpu_state_, drops_;  ///< per-CPU lookup buffers
  uint64_t* counters_ = nullptr;               ///< process_cpu_ns, mapped
  std::size_t counters_bytes_ = 0;
  std::vector<slot_entry> slots_;              ///< indexed by slot
  std::unordered_map<process_id, uint32_t, id_hash> slot_of_;
  std::vector<uint32_t> used_slots_;           ///< this read's, in slot order
  ring_buffer* rings_ = nullptr;  ///< process_exits and meta_changes
  std::vector<process_id>* exits_sink_ = nullptr;
  std::vector<process_id> retiring_;  ///< reported last read; deleted after this read
  uint64_t reads_ = 0, exit_drops_seen_ = 0, meta_change_drops_seen_ = 0, swept_ = 0,
           meta_rereads_ = 0;
  std::optional<bool> host_pid_namespace_;
  std::vector<uint32_t> online_cpus_;
  bool flushing_ = false;
};

}  // namespace kepler
