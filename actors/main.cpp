// The kepler daemon: configuration, logging, then the actor system until SIGTERM/SIGINT.

#include <csignal>
#include <cstdio>

#include <malloc.h>

#include <spdlog/spdlog.h>

#include "actors/daemon.hpp"
#include "actors/logging.hpp"
#include "config/config.hpp"
#include "sensors/proc/privileges.hpp"

namespace {

/// Block the stop signals before any thread starts, so only sigwait() in main sees them.
void block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

/// The effective configuration, framed as Kepler prints it (docs/compatibility.md §2.5).
void print_config_banner(const kepler::kepler_config& config) {
  const char* rule = "━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━\n";
  std::printf("%s Configuration\n%s%s%s", rule, rule, kepler::to_yaml(config).c_str(), rule);
  std::fflush(stdout);
}

/// Keeps the resident set small: each rendered document is megabytes, allocated once per
/// interval. A fixed mmap threshold returns such blocks to the kernel when they are freed
/// (glibc's adaptive threshold would keep them on the heap), and few arenas bound per-thread
/// caches.
void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_ARENA_MAX, 2);
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything reads a flag or a file: a setuid daemon would do so for any user.
  const auto ids = kepler::current_process_ids();
  if (auto refusal = kepler::elevated_start_reason(ids)) {
    std::fprintf(stderr, "kepler: %s\n", refusal->c_str());
    return 1;
  }
  tune_allocator();
  auto outcome = kepler::load_config(argc, argv);
  if (outcome.next == kepler::config_outcome::action::exit) {
    std::fputs(outcome.message.c_str(), outcome.exit_code == 0 ? stdout : stderr);
    if (!outcome.message.empty() && outcome.message.back() != '\n')
      std::fputc('\n', outcome.exit_code == 0 ? stdout : stderr);
    return outcome.exit_code;
  }
  const auto& config = outcome.config;
  block_stop_signals();
  kepler::setup_logging(config.log.level, config.log.format, config.exporter.stdout_exporter.enabled ? stderr : stdout);
  for (const auto& warning : outcome.warnings) spdlog::warn("{}", warning);
  spdlog::info("Kepler version information version={} revision={} branch={}", KEPLER_VERSION, KEPLER_REVISION,
               KEPLER_BRANCH);
  spdlog::info("{}", kepler::describe_privileges(config.host.procfs, ids));
  using kepler::log_level;
  if (config.log.format == kepler::log_format::text &&
      (config.log.level == log_level::debug || config.log.level == log_level::info))
    print_config_banner(config);
  return kepler::run_daemon(config);
}
