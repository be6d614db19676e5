#include "bpf/cpu_time_source.hpp"

namespace kepler {

cpu_time_choice choose_cpu_time_source(bpf_mode mode, const result<void>& loaded) {
  if (!wants_probe(mode)) return {false, false, false, "bpf.enabled is false: CPU time from /proc"};
  if (loaded) return {true, false, false, {}};
  if (mode == bpf_mode::required)
    return {false, true, false, "bpf.enabled is true but the eBPF probe cannot run: " + loaded.error_message()};
  return {false, false, true,
          "eBPF CPU accounting unavailable (" + loaded.error_message() +
              "); falling back to /proc (procfs mode, kepler_bpf_up 0)"};
}

}  // namespace kepler
