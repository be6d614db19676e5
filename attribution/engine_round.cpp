#include "attribution/engine_round.hpp"

namespace kepler {

std::shared_ptr<engine_books> new_engine_books(const std::vector<physical_zone>& zones,
                                               const std::vector<source_label>& energy_sources,
                                               const terminated_policy& terminated,
                                               const std::shared_ptr<actor_stats>& stats) {
  auto books = std::make_shared<engine_books>();
  books->math = std::make_unique<attribution>(zones, terminated);
  for (const auto& label : energy_sources)
    books->health.push_back(source_health{label.source, label.zone, false, 0, 0});
  books->health.push_back(source_health{"procfs", "", false, 0, 0});
  if (stats) {
    for (const auto& label : energy_sources) stats->add_zone(label.source, label.zone);
    books->math->observe_rejections([stats, energy_sources](std::size_t zone, reading_verdict verdict) {
      stats->add_rejected(energy_sources[zone].source, energy_sources[zone].zone, to_string(verdict));
    });
  }
  return books;
}

std::optional<log_note> record_answer(engine_books& books, std::size_t source, const std::string* failure,
                                      double wall_seconds) {
  auto& health = books.health[source];
  if (!failure) {
    bool back = !health.up && health.last_success_seconds > 0;
    health.up = true;
    health.last_success_seconds = wall_seconds;
    if (back) return log_note{false, "source " + health.source + " " + health.zone + " is back"};
    return std::nullopt;
  }
  ++health.errors;
  bool went_down = health.up || health.errors == 1;
  health.up = false;
  if (went_down) return log_note{true, "source " + health.source + " " + health.zone + " is down: " + *failure};
  return std::nullopt;
}

void record_cpu_sample(engine_books& books, cpu_sample sample, round_input& input) {
  books.procfs_skipped_total += sample.table->skipped;
  books.procfs_fallback_reads_total += sample.table->fallback_reads;
  books.health.back().source = sample.source;
  books.cpu_source = std::move(sample.source);
  books.bpf = std::move(sample.bpf);
  input.cpu = std::move(sample.table);
}

snapshot_ptr close_round(engine_books& books, const round_input& input, const round_context& context) {
  auto snap = books.math->update(input);
  snap->sources = books.health;
  if (context.stats) {
    snap->actors = context.stats->read();
    snap->rejected = context.stats->rejected();
    snap->http_drops = context.stats->http_drops();
  }
  snap->cpu_source = books.cpu_source;
  snap->bpf = books.bpf;
  if (books.kube_source) {
    snap->kube = books.kube.update(*snap);
    snap->kube_source = books.kube_source;
  }
  snap->procfs_skipped_total = books.procfs_skipped_total;
  snap->procfs_fallback_reads_total = books.procfs_fallback_reads_total;
  snap->collection_seconds = context.collection_seconds;
  snap->platform = context.platform;
  if (context.self) snap->self = *context.self;
  return snap;
}

}  // namespace kepler
