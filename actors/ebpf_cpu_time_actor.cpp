#include "actors/ebpf_cpu_time_actor.hpp"

#include <unistd.h>

#include "base/clock.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {
namespace {

bpf_probe_health health_of(const cpu_time_probe& probe, const cpu_time_snapshot& read) {
  bpf_probe_health health;
  health.attach_mode = std::string(to_string(probe.mode()));
  health.run_stats = probe.stats_enabled();
  auto stats = probe.program_stats();
  health.program_runs = stats.run_count;
  health.program_run_ns = stats.run_time_ns;
  health.maps = {{"processes", read.process_fill.entries, read.process_fill.max_entries},
                 {"cpu_ns_by_cgroup", read.cgroup_fill.entries, read.cgroup_fill.max_entries}};
  health.drops = {{"process", read.drops[CPU_TIME_DROP_PROCESS]},
                  {"cgroup", read.drops[CPU_TIME_DROP_CGROUP]},
                  {"exit_event", read.drops[CPU_TIME_DROP_EXIT]},
                  {"meta_change", read.drops[CPU_TIME_DROP_META_CHANGE]},
                  {"after_exit", read.charged_after_exit}};
  return health;
}

}  // namespace

cpu_source_actor::behavior_type ebpf_cpu_time(cpu_source_actor::stateful_pointer<ebpf_cpu_time_state> self,
                                              std::shared_ptr<cpu_time_probe> probe, std::string procfs_root,
                                              std::string sysfs_root, std::shared_ptr<actor_stats> stats) {
  auto& st = self->state;
  st.stats = std::move(stats);
  auto reader = cpu_time_reader::create(*probe);
  if (!reader) {
    self->quit(make_sensor_error(sensor_errc::read_failed, reader.error_message()));
    return {[](caf::get_atom) -> caf::result<cpu_sample> { return make_sensor_error(sensor_errc::unavailable); }};
  }
  st.reader = std::move(reader).value();
  st.probe = std::move(probe);
  auto cgroups = cgroup_paths::for_host(sysfs_root);
  st.builder = std::make_unique<ebpf_table_builder>(
      std::move(procfs_root), cgroups ? std::make_unique<cgroup_paths>(std::move(cgroups).value()) : nullptr,
      static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
  return {
      [=](caf::get_atom) -> caf::result<cpu_sample> {
        auto& state = self->state;
        if (state.stats) state.stats->set_mailbox_depth("ebpf_cpu_time", self->mailbox().size());
        int64_t wall = wall_now_ns();
        if (auto done = state.reader->read(state.read); !done) {
          auto err = make_sensor_error(sensor_errc::read_failed, done.error_message());
          self->quit(err);
          return err;
        }
        cpu_sample sample;
        sample.table = std::make_shared<const process_table>(state.builder->build(state.read, boot_clock_ns()));
        if (auto gone = state.builder->vanished_cgroups(state.read); !gone.empty()) state.reader->forget_cgroups(gone);
        sample.measured_mono_ns = static_cast<int64_t>(state.read.monotonic_ns);
        sample.measured_wall_ns = wall;
        sample.source = "ebpf";
        sample.bpf = health_of(*state.probe, state.read);
        return sample;
      },
  };
}

}  // namespace kepler
