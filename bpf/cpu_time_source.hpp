#pragma once
// Where CPU time comes from: the bpf.enabled decision, apart from loading the probe.

#include <string>

#include "base/result.hpp"
#include "config/config.hpp"

namespace kepler {

/// What the daemon does for CPU time.
struct cpu_time_choice {
  bool use_probe = false;  ///< eBPF; else the /proc scanner
  bool fatal = false;      ///< bpf.enabled is true and the probe cannot run: stop at start-up
  bool warning = false;    ///< the message is a warning (falling back) rather than information
  std::string message;     ///< for the log; empty when the probe runs (its attach mode is logged)
};

/// Whether bpf.enabled asks for the probe at all (false: it is never loaded).
constexpr bool wants_probe(bpf_mode mode) { return mode != bpf_mode::off; }

/// The choice once the probe was tried: `loaded` is the outcome of loading and attaching it
/// (not looked at when the mode does not want the probe).
cpu_time_choice choose_cpu_time_source(bpf_mode mode, const result<void>& loaded);

}  // namespace kepler
