// /proc files: the node's stat (cpu line, btime), a process's stat, cmdline (and the VM
// classification made from it), cpuinfo and status (capabilities). Every parser sees every
// input; each must return a value or an error, never crash, and keep its invariants.

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "sensors/proc/privileges.hpp"
#include "sensors/proc/procfs.hpp"
#include "sensors/proc/vm_detect.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

using namespace kepler;

void check_proc_stat(std::string_view text) {
  auto times = parse_proc_stat(text);
  if (!times) return;
  const cpu_times zero;
  const double ratio = usage_ratio(zero, times.value());
  KEPLER_FUZZ_CHECK(!std::isnan(ratio) && ratio >= 0.0 && ratio <= 1.0, "usage ratio within [0, 1]");
  KEPLER_FUZZ_CHECK(usage_ratio(times.value(), times.value()) == 0.0, "no window, no usage");
  (void)parse_boot_time(text);
}

void check_pid_stat(std::string_view text) {
  auto stat = parse_pid_stat(text);
  if (!stat) return;
  KEPLER_FUZZ_CHECK(stat.value().field_count >= 24, "a parsed stat has every field Kepler reads");
  KEPLER_FUZZ_CHECK(stat.value().comm.size() < text.size(), "comm is inside the line");
}

void check_cmdline(std::string_view raw) {
  const auto args = parse_cmdline(raw);
  std::size_t bytes = 0;
  for (const auto& arg : args) bytes += arg.size() + 1;
  KEPLER_FUZZ_CHECK(bytes <= raw.size() + 1, "arguments come from the buffer");
  if (auto vm = detect_vm(args)) {
    KEPLER_FUZZ_CHECK(!vm->id.empty(), "a VM always has an id");
    KEPLER_FUZZ_CHECK(!vm->hypervisor.empty(), "a VM always has a hypervisor");
  }
  if (!args.empty()) KEPLER_FUZZ_CHECK(generated_vm_id(args).size() == 16, "generated ids are 16 hex digits");
}

void check_cpuinfo(std::string_view text) {
  for (const auto& cpu : parse_cpuinfo(text))
    KEPLER_FUZZ_CHECK(cpu.model_name.size() <= text.size(), "fields come from the text");
}

void check_status(std::string_view text) {
  if (auto mask = parse_status_capabilities(text)) KEPLER_FUZZ_CHECK(!capability_names(mask.value()).empty(), "named");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto text = kepler::fuzz::as_text(data, size);
  check_proc_stat(text);
  check_pid_stat(text);
  check_cmdline(text);
  check_cpuinfo(text);
  check_status(text);
  return 0;
}
