#pragma once
// Loads and attaches the cpu_time eBPF probe (cpu_time.bpf.c). Plain C++, synchronous.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "bpf/cpu_time.h"

struct cpu_time_bpf;  // the generated skeleton (cpu_time.skel.h), kept out of this header

namespace kepler {

/// How the programs are hooked: BTF-typed tracepoint (cheapest, 5.5+) or raw tracepoint.
enum class bpf_attach_mode { tp_btf, raw_tp };

/// "tp_btf" or "raw_tp".
std::string_view to_string(bpf_attach_mode mode);

/// Map sizes and choices fixed before load.
struct probe_options {
  uint32_t max_processes = CPU_TIME_DEFAULT_MAX_PROCESSES;      ///< processes, slots of process_cpu_ns
  uint32_t max_cgroups = CPU_TIME_DEFAULT_MAX_CGROUPS;          ///< cpu_ns_by_cgroup
  uint32_t exit_ring_bytes = CPU_TIME_DEFAULT_EXIT_RING_BYTES;  ///< power of 2, page multiple
  uint32_t meta_ring_bytes = CPU_TIME_DEFAULT_META_RING_BYTES;  ///< power of 2, page multiple
  std::optional<bpf_attach_mode> force_mode;                    ///< skip the tp_btf probe (tests, known kernels)
  std::string btf_path = "/sys/kernel/btf/vmlinux";             ///< kernel BTF for CO-RE (or a BTFHub file)
  bool run_time_stats = true;  ///< BPF_STATS_RUN_TIME while loaded (costs ~2 clock reads per run)
  bool gather_on_cpu = true;   ///< gather consecutive cgroup slices per CPU (needs flushes(); faster)
};

/// Run count and run time of the attached programs from BPF_STATS_RUN_TIME, summed.
struct bpf_program_stats {
  uint64_t run_count = 0;
  uint64_t run_time_ns = 0;
  /// Runs the kernel skipped because the program was already running on that CPU (its
  /// recursion guard): each is an event the probe never saw. Counted with or without stats.
  uint64_t recursion_misses = 0;
  uint64_t switch_run_count = 0;  ///< runs of the sched_switch program alone (with stats)
};

/// Severity of a libbpf log line.
enum class bpf_log_level { warn, info, debug };

/// Receives libbpf's log lines (the verifier log on a failed load arrives as warn lines).
using bpf_log_callback = std::function<void(bpf_log_level, std::string_view)>;

/// Routes libbpf's process-wide log to `callback`; an empty one discards everything.
/// Default: warn and info lines to stderr. Not thread-safe against a concurrent load().
void set_bpf_log_callback(bpf_log_callback callback);

/// File descriptors and sizes of the probe's maps, for the reader; valid while the probe lives.
struct cpu_time_maps {
  int processes = -1;       ///< HASH process key → cpu_time_process_meta (with the slot)
  int process_cpu_ns = -1;  ///< ARRAY (mmapable) of __u64: CPU c, slot s at c * max_processes + s
  int free_slots = -1;      ///< QUEUE of __u32 slots given back by user space
  int cgroups = -1;         ///< cpu_ns_by_cgroup: PERCPU_HASH __u64 cgroup id → __u64 ns
  int cpu_state = -1;       ///< PERCPU_ARRAY[1] of cpu_time_cpu_state
  int drops = -1;           ///< PERCPU_ARRAY[CPU_TIME_DROP_KINDS] of __u64
  int exits = -1;           ///< RINGBUF of cpu_time_exit_event
  int meta_changes = -1;    ///< RINGBUF of cpu_time_meta_change
  int flush_program = -1;   ///< raw_tp program run on each CPU to charge the slice in progress
  uint32_t max_processes = 0;
  uint32_t max_cgroups = 0;
  uint32_t possible_cpus = 0;
};

/// The cpu_time probe, loaded and attached; destroying it detaches and unloads everything.
class cpu_time_probe {
 public:
  /// Checks BTF, picks tp_btf or raw_tp, sizes the maps, loads, attaches and enables run-time
  /// stats. The error names the cause (missing BTF, missing capabilities, verifier, attach).
  static result<std::unique_ptr<cpu_time_probe>> load(const probe_options& options = {});

  ~cpu_time_probe();
  cpu_time_probe(const cpu_time_probe&) = delete;
  cpu_time_probe& operator=(const cpu_time_probe&) = delete;

  /// Which variant is attached.
  bpf_attach_mode mode() const { return mode_; }

  /// The maps, for cpu_time_reader.
  const cpu_time_maps& maps() const { return maps_; }

  /// Whether a read can first charge the slices running on every CPU and flush what each CPU
  /// gathered (BPF_PROG_TEST_RUN on a chosen CPU, kernel 5.10+). Without it a slice counts
  /// only once it ends: a CPU idle or busy without a switch lags behind, and nothing is
  /// gathered per CPU.
  bool flushes() const { return flushes_; }

  /// Whether BPF run-time stats could be enabled (needs CAP_SYS_ADMIN); else stats stay 0.
  bool stats_enabled() const { return stats_fd_ >= 0; }

  /// Run count and run time summed over the attached programs since load.
  bpf_program_stats program_stats() const;

  /// Detaches the sched_switch program, or attaches it again, maps kept: for benchmarks that
  /// time a workload with and without it. False (errno set) when attaching fails.
  bool set_switch_attached(bool attached);

 private:
  struct skeleton_deleter {
    void operator()(cpu_time_bpf* skeleton) const;
  };
  explicit cpu_time_probe(cpu_time_bpf* skeleton) : skeleton_(skeleton) {}

  std::unique_ptr<cpu_time_bpf, skeleton_deleter> skeleton_;
  bpf_attach_mode mode_ = bpf_attach_mode::tp_btf;
  cpu_time_maps maps_;
  int stats_fd_ = -1;
  bool flushes_ = false;
};

/// Whether tp_btf programs load for sched_switch here: loads a two-instruction
/// BPF_PROG_TYPE_TRACING program (libbpf_probe_bpf_prog_type() cannot tell: it needs an
/// attach target, which only a real load supplies).
bool kernel_supports_tp_btf();

/// "<step> failed: <strerror(err)>", plus the likely cause (capabilities, verifier, memory).
/// `err` is an errno value of either sign.
std::string describe_bpf_failure(std::string_view step, int err);

}  // namespace kepler
