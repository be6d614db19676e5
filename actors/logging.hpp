#pragma once
// The daemon's logger: spdlog at the configured level, as text or JSON lines.

#include <cstdio>
#include <optional>

#include "base/log_note.hpp"
#include "config/config.hpp"

namespace kepler {

/// Installs the default logger, as text or JSON lines. Logs go to `out` (stdout, or stderr
/// when the stdout exporter owns stdout).
void setup_logging(log_level level, log_format format, std::FILE* out);

/// Writes a line that plain code decided on: a warning or information.
void write_log(const log_note& note);
void write_log(const std::optional<log_note>& note);

/// A real random number in [0, 1) for backoff jitter (each thread has its own generator).
double real_random();

}  // namespace kepler
