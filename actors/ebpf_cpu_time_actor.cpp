#include "actors/ebpf_cpu_time_actor.hpp"

#include <unistd.h>

#include "base/clock.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

cpu_source_actor::behavior_type ebpf_cpu_time(cpu_source_actor::stateful_pointer<ebpf_cpu_time_state> self,
                                              std::shared_ptr<cpu_time_probe> probe, std::string procfs_root,
                                              std::string sysfs_root, std::shared_ptr<actor_stats> stats) {
  auto& st = self->state;
  st.stats = std::move(stats);
  reader_options reading;
  reading.procfs_root = procfs_root;
  reading.sysfs_root = sysfs_root;
  auto reader = cpu_time_reader::create(*probe, reading);
  if (!reader) {
    auto err = to_caf_error(reader.error());
    self->quit(err);
    return {[err](caf::get_atom) -> caf::result<cpu_sample> { return err; }};
  }
  st.reader = std::move(reader).value();
  st.probe = std::move(probe);
  auto cgroups = cgroup_paths::for_host(sysfs_root);
  st.builder = std::make_unique<ebpf_table_builder>(std::move(procfs_root),
                                                    cgroups ? std::make_unique<cgroup_paths>(std::move(cgroups).value())
                                                            : nullptr,
                                                    static_cast<unsigned>(sysconf(_SC_NPROCESSORS_ONLN)));
  return {
      [=](caf::get_atom) -> caf::result<cpu_sample> {
        auto& state = self->state;
        if (state.stats) state.stats->set_mailbox_depth("ebpf_cpu_time", self->mailbox().size());
        int64_t wall = wall_now_ns();
        if (auto done = state.reader->read(state.read); !done) {
          auto err = to_caf_error(done.error());
          self->quit(err);
          return err;
        }
        cpu_sample sample;
        sample.table = std::make_shared<const process_table>(state.builder->build(state.read, boot_clock_ns()));
        if (auto gone = state.builder->vanished_cgroups(state.read); !gone.empty()) state.reader->forget_cgroups(gone);
        sample.measured_mono_ns = static_cast<int64_t>(state.read.monotonic_ns);
        sample.measured_wall_ns = wall;
        sample.source = "ebpf";
        sample.bpf = probe_health(*state.probe, state.read);
        return sample;
      },
  };
}

}  // namespace kepler
