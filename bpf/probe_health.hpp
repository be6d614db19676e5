#pragma once
// How the eBPF CPU-time probe is doing: its cost, map fill and drops, as exported.

#include <cstdint>
#include <string>
#include <vector>

#include "bpf/cpu_time_loader.hpp"
#include "bpf/cpu_time_reader.hpp"

namespace kepler {

/// How the eBPF CPU-time probe is doing (present while it is the CPU-time source).
struct bpf_probe_health {
  std::string attach_mode;  ///< tp_btf or raw_tp
  bool run_stats = false;   ///< the kernel's run-time statistics are on (needs CAP_SYS_ADMIN)
  uint64_t program_runs = 0;
  uint64_t program_run_ns = 0;
  struct map_usage {
    std::string map;
    uint64_t entries = 0, capacity = 0;
  };
  std::vector<map_usage> maps;
  struct drop_count {
    std::string kind;
    uint64_t count = 0;
  };
  std::vector<drop_count> drops;  ///< everything the probe could not store, by kind
};

/// The health of `probe` as of `read`.
bpf_probe_health probe_health(const cpu_time_probe& probe, const cpu_time_snapshot& read);

}  // namespace kepler
