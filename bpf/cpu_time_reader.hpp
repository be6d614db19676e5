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

#include "base/result.hpp"
#include "bpf/cpu_time.h"
#include "bpf/cpu_time_loader.hpp"
#include "bpf/host_info.hpp"
#include "bpf/map_batch.hpp"

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
  std::vector<process_id> exits;                      ///< exits seen since the previous read, each once
  uint64_t idle_ns = 0;                               ///< idle-task time summed over CPUs
  std::array<uint64_t, CPU_TIME_DROP_KINDS> drops{};  ///< indexed by CPU_TIME_DROP_*
  /// Processes charged after the read that reported their exit (a thread of the group still
  /// finishing its exit): that time stays in the node's busy time, unattributed. Cumulative.
  uint64_t charged_after_exit = 0;
  map_fill process_fill, cgroup_fill;  ///< processes: slots in use
};

/// Reader tuning.
struct reader_options {
  /// Every this many reads, entries of processes that no longer exist are retired even without
  /// an exit event (one lost to a full ring buffer). 0 = only after exit events were dropped.
  uint32_t sweep_every_reads = 60;
  std::string procfs_root = "/proc";  ///< where the sweep checks that processes still live
  std::string sysfs_root = "/sys";    ///< where the online CPUs are listed
};

/// Reads the probe's maps. The probe reports a process's exit after the last switch of its
/// last thread, when everything it ran is charged: the read that sees the exit reports the
/// process with its final totals, then deletes it from the maps. Its slot is given back only
/// after the next read's flushes, which clear every CPU's cache of processes, so no charge can
/// reach a slot once it has a new owner (a charge that still arrived is counted in
/// charged_after_exit, and a process that comes back from such a charge is not reported
/// again). Metadata and slots are kept here, updated from the meta_changes ring (the processes
/// map is re-read in full only when that ring overflowed); the per-CPU counters are read from
/// the mapped process_cpu_ns array.
class cpu_time_reader {
 public:
  /// The probe must outlive the reader.
  static result<std::unique_ptr<cpu_time_reader>> create(const cpu_time_probe& probe,
                                                         const reader_options& options = {});
  ~cpu_time_reader();
  cpu_time_reader(const cpu_time_reader&) = delete;
  cpu_time_reader& operator=(const cpu_time_reader&) = delete;

  /// Reads everything into `out`, reusing its vectors' capacity.
  result<void> read(cpu_time_snapshot& out);

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
  /// A slot whose process was retired, given back after the next read's flushes.
  struct retired_slot {
    uint32_t slot = 0;
    uint64_t reported_ns = 0;  ///< its counters' sum when last reported
  };
  cpu_time_reader(const cpu_time_maps& maps, const reader_options& options);
  static int on_exit_event(void* self, void* data, std::size_t size);
  static int on_meta_change(void* self, void* data, std::size_t size);
  result<void> map_counters();
  void remember(const process_id& id, const cpu_time_process_meta& meta);
  void flush_cpus();
  result<void> reread_meta();
  void join_processes(cpu_time_snapshot& out);
  /// Deletes a process from the maps and holds its slot until the next read's flushes.
  void retire(const process_id& id);
  /// Gives back the slots retired by the previous read, noting charges that arrived since.
  void release_retired_slots();
  uint64_t slot_sum(uint32_t slot) const;
  void sweep(cpu_time_snapshot& out);

  cpu_time_maps maps_;
  reader_options options_;
  std::size_t cpus_;
  map_dump cgroups_;
  std::vector<std::byte> cpu_state_, drops_;  ///< per-CPU lookup buffers
  uint64_t* counters_ = nullptr;              ///< process_cpu_ns, mapped
  std::size_t counters_bytes_ = 0;
  std::vector<slot_entry> slots_;  ///< indexed by slot
  std::unordered_map<process_id, uint32_t, id_hash> slot_of_;
  std::vector<uint32_t> used_slots_;  ///< this read's, in slot order
  ring_buffer* rings_ = nullptr;      ///< process_exits and meta_changes
  std::vector<process_id>* exits_sink_ = nullptr;
  std::vector<retired_slot> retired_slots_;  ///< retired by the last read; given back by this one
  /// Processes retired by the last two reads, with the read that retired them: one that shows
  /// up again was charged after its exit (a straggling thread) and is retired at once.
  std::unordered_map<process_id, uint64_t, id_hash> retired_at_;
  uint64_t reads_ = 0, exit_drops_seen_ = 0, meta_change_drops_seen_ = 0, swept_ = 0, meta_rereads_ = 0,
           charged_after_exit_ = 0;
  std::optional<bool> host_pid_namespace_;
  std::vector<uint32_t> online_cpus_;
  bool flushing_ = false;
};

}  // namespace kepler
