#pragma once
// Wires sensors, actors and the HTTP server together and runs until SIGTERM/SIGINT.

#include "config/config.hpp"

namespace kepler {

/// Runs the exporter; returns the process exit code (0 after a graceful stop, 1 when
/// start-up fails on something the user must fix, such as a port already in use).
/// SIGINT and SIGTERM must already be blocked in the calling thread.
int run_daemon(const kepler_config& config);

}  // namespace kepler
