#pragma once
// The daemon's logger: spdlog at the configured level, as text or JSON lines.

#include <cstdio>

#include "config/config.hpp"

namespace kepler {

/// Installs the default logger, as text or JSON lines. Logs go to `out` (stdout, or stderr
/// when the stdout exporter owns stdout).
void setup_logging(log_level level, log_format format, std::FILE* out);

}  // namespace kepler
