#include "bpf/cpu_time_loader.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cpu_time.skel.h"

namespace kepler {
namespace {

constexpr const char* default_btf_path = "/sys/kernel/btf/vmlinux";

bpf_log_callback& log_callback() {
  static bpf_log_callback callback = [](bpf_log_level level, std::string_view line) {
    if (level != bpf_log_level::debug) std::cerr << line;  // lines carry their "libbpf: "
  };
  return callback;
}

int forward_libbpf_log(enum libbpf_print_level level, const char* format, va_list args) {
  auto& callback = log_callback();
  if (!callback) return 0;
  char line[1024];
  int length = std::vsnprintf(line, sizeof line, format, args);
  if (length < 0) return length;
  auto ours = level == LIBBPF_WARN   ? bpf_log_level::warn
              : level == LIBBPF_INFO ? bpf_log_level::info
                                     : bpf_log_level::debug;
  callback(ours, std::string_view(line, std::min<std::size_t>(length, sizeof line - 1)));
  return length;
}

int silent_libbpf_log(enum libbpf_print_level, const char*, va_list) { return 0; }

/// Installs our forwarder once per load; probing swaps in silence and puts it back.
struct quiet_libbpf {
  libbpf_print_fn_t previous = libbpf_set_print(silent_libbpf_log);
  ~quiet_libbpf() { libbpf_set_print(previous); }
};

error failure(std::string_view step, int err) { return make_error(describe_bpf_failure(step, err)); }

}  // namespace

std::string_view to_string(bpf_attach_mode mode) { return mode == bpf_attach_mode::tp_btf ? "tp_btf" : "raw_tp"; }

void set_bpf_log_callback(bpf_log_callback callback) {
  log_callback() = std::move(callback);
  libbpf_set_print(forward_libbpf_log);
}

std::string describe_bpf_failure(std::string_view step, int err) {
  if (err < 0) err = -err;
  std::string message(step);
  message += " failed: ";
  message += std::strerror(err);
  if (err == EPERM) message += " (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)";
  else if (err == EACCES)  // the verifier, or an LSM
    message += " (verifier rejection or denied by a security module: see the libbpf log)";
  else if (err == EINVAL) message += " (see the libbpf log for the verifier's reason)";
  else if (err == ENOMEM || err == E2BIG) message += " (map sizes too large for the memory limit?)";
  return message;
}

bool kernel_supports_tp_btf() {
  quiet_libbpf quiet;
  int btf_id = libbpf_find_vmlinux_btf_id("sched_switch", BPF_TRACE_RAW_TP);
  if (btf_id <= 0) return false;
  // r0 = 0; exit
  const bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  bpf_prog_load_opts opts{};  // LIBBPF_OPTS relies on GNU C extensions that -Wpedantic flags
  opts.sz = sizeof opts;
  opts.expected_attach_type = BPF_TRACE_RAW_TP;
  opts.attach_btf_id = static_cast<__u32>(btf_id);
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, nullptr, "GPL", insns, 2, &opts);
  if (fd < 0) return false;
  close(fd);
  return true;
}

void cpu_time_probe::skeleton_deleter::operator()(cpu_time_bpf* skeleton) const {
  cpu_time_bpf__destroy(skeleton);  // detaches the links, closes programs and maps
}

cpu_time_probe::~cpu_time_probe() {
  skeleton_.reset();
  if (stats_fd_ >= 0) close(stats_fd_);
}

result<std::unique_ptr<cpu_time_probe>> cpu_time_probe::load(const probe_options& options) {
  if (access(options.btf_path.c_str(), R_OK) != 0)
    return make_error("no BTF at " + options.btf_path + " (the kernel needs CONFIG_DEBUG_INFO_BTF=y for CO-RE)");
  libbpf_set_print(forward_libbpf_log);

  // Decided before open so that the probe's silence does not hide open/load messages.
  bpf_attach_mode mode =
      options.force_mode.value_or(kernel_supports_tp_btf() ? bpf_attach_mode::tp_btf : bpf_attach_mode::raw_tp);

  bpf_object_open_opts open_opts{};
  open_opts.sz = sizeof open_opts;
  if (options.btf_path != default_btf_path) open_opts.btf_custom_path = options.btf_path.c_str();
  cpu_time_bpf* raw = cpu_time_bpf__open_opts(&open_opts);
  if (!raw) return failure("opening the eBPF object", errno);
  std::unique_ptr<cpu_time_probe> probe(new cpu_time_probe(raw));
  probe->mode_ = mode;
  auto& skel = *probe->skeleton_;

  bool btf = mode == bpf_attach_mode::tp_btf;
  for (bpf_program* program : {skel.progs.switch_btf, skel.progs.exit_btf, skel.progs.move_btf, skel.progs.exec_btf})
    bpf_program__set_autoload(program, btf);
  for (bpf_program* program : {skel.progs.switch_raw, skel.progs.exit_raw, skel.progs.move_raw, skel.progs.exec_raw})
    bpf_program__set_autoload(program, !btf);

  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return failure("counting possible CPUs", cpus);
  uint64_t counters = uint64_t(options.max_processes) * uint64_t(cpus);
  if (counters > UINT32_MAX)
    return make_error("eBPF max processes " + std::to_string(options.max_processes) + " times " + std::to_string(cpus) +
                      " possible CPUs exceeds an array's 2^32 entries");
  skel.rodata->max_processes = options.max_processes;
  struct sizing {
    bpf_map* map;
    uint32_t entries;
  };
  for (auto [map, entries] :
       {sizing{skel.maps.processes, options.max_processes}, sizing{skel.maps.process_cpu_ns, uint32_t(counters)},
        sizing{skel.maps.free_slots, options.max_processes}, sizing{skel.maps.cpu_ns_by_cgroup, options.max_cgroups},
        sizing{skel.maps.process_exits, options.exit_ring_bytes},
        sizing{skel.maps.meta_changes, options.meta_ring_bytes}}) {
    if (entries == 0) return make_error(std::string("eBPF map ") + bpf_map__name(map) + " sized 0");
    if (int err = bpf_map__set_max_entries(map, entries))
      return failure(std::string("sizing eBPF map ") + bpf_map__name(map), err);
  }

  if (int err = cpu_time_bpf__load(&skel)) return failure("loading the eBPF program", err);
  if (int err = cpu_time_bpf__attach(&skel))
    return failure(std::string("attaching the eBPF programs (") + std::string(to_string(mode)) + ")", err);

  // Gathering per CPU is only safe when every read can flush each CPU: check on this one.
  bpf_test_run_opts run{};
  run.sz = sizeof run;
  run.flags = BPF_F_TEST_RUN_ON_CPU;
  run.cpu = static_cast<__u32>(std::max(sched_getcpu(), 0));
  probe->flushes_ = bpf_prog_test_run_opts(bpf_program__fd(skel.progs.flush_cpu), &run) == 0;
  if (probe->flushes_ && options.gather_on_cpu) skel.bss->gather_on_cpu = 1;

  if (options.run_time_stats) probe->stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);  // < 0: stats stay 0, not fatal
  probe->maps_ = cpu_time_maps{
      .processes = bpf_map__fd(skel.maps.processes),
      .process_cpu_ns = bpf_map__fd(skel.maps.process_cpu_ns),
      .free_slots = bpf_map__fd(skel.maps.free_slots),
      .cgroups = bpf_map__fd(skel.maps.cpu_ns_by_cgroup),
      .cpu_state = bpf_map__fd(skel.maps.cpu_state),
      .drops = bpf_map__fd(skel.maps.drops),
      .exits = bpf_map__fd(skel.maps.process_exits),
      .meta_changes = bpf_map__fd(skel.maps.meta_changes),
      .flush_program = bpf_program__fd(skel.progs.flush_cpu),
      .max_processes = options.max_processes,
      .max_cgroups = bpf_map__max_entries(skel.maps.cpu_ns_by_cgroup),
      .possible_cpus = uint32_t(cpus),
  };
  return probe;
}

bool cpu_time_probe::set_switch_attached(bool attached) {
  auto& skel = *skeleton_;
  bool btf = mode_ == bpf_attach_mode::tp_btf;
  bpf_link*& link = btf ? skel.links.switch_btf : skel.links.switch_raw;
  if (attached == (link != nullptr)) return true;
  if (!attached) {
    bpf_link__destroy(link);
    link = nullptr;
    return true;
  }
  link = bpf_program__attach(btf ? skel.progs.switch_btf : skel.progs.switch_raw);
  return link != nullptr;
}

bpf_program_stats cpu_time_probe::program_stats() const {
  bpf_program_stats total;
  const auto& skel = *skeleton_;
  // flush_cpu is left out: it runs per read, not per event.
  for (bpf_program* program : {skel.progs.switch_btf, skel.progs.exit_btf, skel.progs.move_btf, skel.progs.exec_btf,
                               skel.progs.switch_raw, skel.progs.exit_raw, skel.progs.move_raw, skel.progs.exec_raw}) {
    int fd = bpf_program__fd(program);
    if (fd < 0) continue;  // the variant that was not loaded
    bpf_prog_info info{};
    __u32 length = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) continue;
    total.run_count += info.run_cnt;
    total.run_time_ns += info.run_time_ns;
    total.recursion_misses += info.recursion_misses;
    if (program == skel.progs.switch_btf || program == skel.progs.switch_raw) total.switch_run_count += info.run_cnt;
  }
  return total;
}

}  // namespace kepler
