#include "actors/cpu_time_actor.hpp"

#include "base/clock.hpp"
#include "sensors/proc/process_classifier.hpp"

namespace kepler {

cpu_source_actor::behavior_type procfs_cpu_time(cpu_source_actor::stateful_pointer<cpu_time_state> self,
                                                std::string procfs_root, std::shared_ptr<actor_stats> stats) {
  self->state.scanner = std::make_unique<process_scanner>(std::move(procfs_root));
  self->state.scanner->set_classifier(classify_process);
  self->state.stats = std::move(stats);
  return {
      [=](caf::get_atom) -> caf::result<cpu_sample> {
        if (self->state.stats) self->state.stats->set_mailbox_depth("procfs_cpu_time", self->mailbox().size());
        int64_t mono = monotonic_now_ns();
        int64_t wall = wall_now_ns();
        auto table = self->state.scanner->scan();
        if (!table) return to_caf_error(table.error());
        cpu_sample sample;
        sample.table = std::make_shared<const process_table>(std::move(table).value());
        sample.measured_mono_ns = mono;
        sample.measured_wall_ns = wall;
        return sample;
      },
  };
}

}  // namespace kepler
